import { Counter, type Registry } from 'prom-client';

/** Steps whose loss entered a gradient. */
export function trainedTokensTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_trained_tokens_total',
    help: 'Steps whose loss entered a gradient.',
    registers: [registry],
  });
}
