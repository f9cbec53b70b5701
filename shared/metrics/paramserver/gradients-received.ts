import { Counter, type Registry } from 'prom-client';

/** Complete gradients reassembled from `<app>.gradients` (before dedupe and staleness checks). */
export function gradientsReceivedTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_paramserver_gradients_received_total',
    help: 'Complete gradients reassembled from the gradients topic, before deduplication and the staleness check.',
    registers: [registry],
  });
}
