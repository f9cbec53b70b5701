import { Counter, type Registry } from 'prom-client';

/** Keys evicted (TTL or state.maxKeys); each writes a changelog tombstone. */
export function evictedKeysTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_evicted_keys_total',
    help: 'Keys evicted (TTL or state.maxKeys); each writes a changelog tombstone.',
    registers: [registry],
  });
}
