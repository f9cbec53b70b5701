import { Histogram, type Registry } from 'prom-client';

/** Seconds to restore newly assigned partitions from the state changelog before serving them. */
export function restoreDurationSeconds(registry: Registry): Histogram {
  return new Histogram({
    name: 'rnnstream_worker_restore_duration_seconds',
    help: 'Seconds to restore newly assigned partitions from the state changelog before serving them.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
}
