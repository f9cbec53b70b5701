import { Gauge, type Registry } from 'prom-client';

/** Keys held in memory across the owned partitions. */
export function liveKeys(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_worker_live_keys',
    help: 'Keys held in memory across the owned partitions.',
    registers: [registry],
  });
}
