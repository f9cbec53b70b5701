import { Gauge, type Registry } from 'prom-client';

/** Changelog offsets still to read by the restore in progress (0 when none runs). */
export function restoreRemainingOffsets(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_worker_restore_remaining_offsets',
    help: 'Changelog offsets still to read by the restore in progress (0 when none runs).',
    registers: [registry],
  });
}
