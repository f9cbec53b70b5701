import { Histogram, type Registry } from 'prom-client';

/** Seconds to process one batch: decode, predict, train, build records, commit the transaction. */
export function batchDurationSeconds(registry: Registry): Histogram {
  return new Histogram({
    name: 'rnnstream_worker_batch_duration_seconds',
    help: 'Seconds to process one batch: decode, predict, train, build records, commit the transaction.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
}
