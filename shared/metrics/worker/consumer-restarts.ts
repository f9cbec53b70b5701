import { Counter, type Registry } from 'prom-client';

/** Times the worker dropped its partitions and rejoined the group after a Kafka failure. */
export function consumerRestartsTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_consumer_restarts_total',
    help: 'Times the worker dropped its partitions and rejoined the group after a Kafka failure.',
    registers: [registry],
  });
}
