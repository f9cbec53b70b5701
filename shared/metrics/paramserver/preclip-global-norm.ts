import { Histogram, type Registry } from 'prom-client';

/** Global L2 norm of each round's averaged gradient before clipping. */
export function preclipGlobalNorm(registry: Registry): Histogram {
  return new Histogram({
    name: 'rnnstream_paramserver_preclip_global_norm',
    help: "Global L2 norm of each round's token-weighted average gradient, before clipping to clip.globalNorm.",
    buckets: [0.01, 0.03, 0.1, 0.3, 1, 2, 5, 10, 20, 50, 100, 1000],
    registers: [registry],
  });
}
