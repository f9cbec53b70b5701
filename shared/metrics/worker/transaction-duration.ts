import { Histogram, type Registry } from 'prom-client';

/** Seconds from beginning a batch transaction to its commit (sends, offsets, commit). */
export function transactionDurationSeconds(registry: Registry): Histogram {
  return new Histogram({
    name: 'rnnstream_worker_transaction_duration_seconds',
    help: 'Seconds from beginning a batch transaction to its commit (sends, offsets, commit).',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
}
