import { Gauge, type Registry } from 'prom-client';

/** Mean loss per token of the latest training step (nats). */
export function trainLoss(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_worker_train_loss',
    help: 'Mean loss per token of the latest training step (nats).',
    registers: [registry],
  });
}
