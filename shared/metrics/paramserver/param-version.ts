import { Gauge, type Registry } from 'prom-client';

/** The latest committed parameter version. */
export function paramVersion(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_paramserver_param_version',
    help: 'Latest parameter version committed to the params topic.',
    registers: [registry],
  });
}
