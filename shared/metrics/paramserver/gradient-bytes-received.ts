import { Counter, type Registry } from 'prom-client';

/** Bytes of GradientChunk record values read from `<app>.gradients`. */
export function gradientBytesReceivedTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_paramserver_gradient_bytes_received_total',
    help: 'Bytes of GradientChunk record values read from the gradients topic.',
    registers: [registry],
  });
}
