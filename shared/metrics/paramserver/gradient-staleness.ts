import { Histogram, type Registry } from 'prom-client';

/** Versions between a gradient's parameter version and the current one, for every checked gradient. */
export function gradientStalenessVersions(registry: Registry): Histogram {
  return new Histogram({
    name: 'rnnstream_paramserver_gradient_staleness_versions',
    help: 'Staleness of received gradients in parameter versions (current version minus the version the gradient was computed on); stale ones included.',
    buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
    registers: [registry],
  });
}
