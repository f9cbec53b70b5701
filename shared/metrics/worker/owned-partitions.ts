import { Gauge, type Registry } from 'prom-client';

/** Partitions of the events topic this worker owns and has restored. */
export function ownedPartitions(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_worker_owned_partitions',
    help: 'Partitions of the events topic this worker owns and has restored.',
    registers: [registry],
  });
}
