import { Counter, type Registry } from 'prom-client';

/** Batches committed as one Kafka transaction (changelog + predictions + dead letters + gradients + offsets). */
export function transactionsTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_transactions_total',
    help: 'Batches committed as one Kafka transaction (changelog + predictions + dead letters + gradients + offsets).',
    registers: [registry],
  });
}
