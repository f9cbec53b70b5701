import { Gauge, type Registry } from 'prom-client';

/** Parameter version the worker predicts and trains with. */
export function paramVersion(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_worker_param_version',
    help: 'Parameter version the worker predicts and trains with.',
    registers: [registry],
  });
}
