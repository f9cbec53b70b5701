import { Counter, type Registry } from 'prom-client';

/** Events predicted and learned from (committed batches). */
export function eventsProcessedTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_events_total',
    help: 'Events predicted and learned from (committed batches).',
    registers: [registry],
  });
}
