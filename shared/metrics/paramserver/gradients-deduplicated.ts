import { Counter, type Registry } from 'prom-client';

/** Gradients whose (worker, step) was seen before (a retried send or a re-read after restart). */
export function gradientsDeduplicatedTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_paramserver_gradients_deduplicated_total',
    help: 'Gradients skipped because their (worker, step) was already applied or is pending (retried sends, re-reads after a restart).',
    registers: [registry],
  });
}
