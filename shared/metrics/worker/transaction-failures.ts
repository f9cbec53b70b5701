import { Counter, type Registry } from 'prom-client';

/** Batches whose transaction failed (aborted or fenced): the worker drops its partitions and rejoins the group. */
export function transactionFailuresTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_transaction_failures_total',
    help: 'Batches whose transaction failed (aborted or fenced): the worker drops its partitions and rejoins the group.',
    registers: [registry],
  });
}
