import { Histogram, type Registry } from 'prom-client';

/** Time from closing a round to its version being committed (update, checkpoint, publish). */
export function roundDurationSeconds(registry: Registry): Histogram {
  return new Histogram({
    name: 'rnnstream_paramserver_round_duration_seconds',
    help: 'Seconds from closing a round to its new version being committed: average, clip, optimizer step, checkpoint and publish.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}
