import { Gauge, type Registry } from 'prom-client';

/** The pre-clip global norm of the latest round (the histogram shows the distribution). */
export function lastPreclipGlobalNorm(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_paramserver_last_preclip_global_norm',
    help: 'Global L2 norm of the latest round average gradient, before clipping.',
    registers: [registry],
  });
}
