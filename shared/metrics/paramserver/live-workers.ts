import { Gauge, type Registry } from 'prom-client';

/** Workers that sent a gradient within paramserver.workerTimeoutMs (the ones a sync round waits for). */
export function liveWorkers(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_paramserver_live_workers',
    help: 'Workers that sent a gradient within paramserver.workerTimeoutMs; a sync round waits for each of them.',
    registers: [registry],
  });
}
