import { Counter, type Registry } from 'prom-client';

/** Keys restored from the state changelog. */
export function restoredKeysTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_restored_keys_total',
    help: 'Keys restored from the state changelog.',
    registers: [registry],
  });
}
