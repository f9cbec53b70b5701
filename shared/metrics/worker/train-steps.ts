import { Counter, type Registry } from 'prom-client';

/** TBPTT training steps (each sends one gradient). */
export function trainStepsTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_train_steps_total',
    help: 'TBPTT training steps (each sends one gradient).',
    registers: [registry],
  });
}
