import { Counter, type Registry } from 'prom-client';

/** Malformed events sent to the dead-letter topic instead of being processed. */
export function deadLettersTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_dead_letters_total',
    help: 'Malformed events sent to the dead-letter topic instead of being processed.',
    registers: [registry],
  });
}
