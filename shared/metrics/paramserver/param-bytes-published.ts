import { Counter, type Registry } from 'prom-client';

/** Bytes of ParamChunk record values committed to `<app>.params`. */
export function paramBytesPublishedTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_paramserver_param_bytes_published_total',
    help: 'Bytes of ParamChunk record values committed to the params topic.',
    registers: [registry],
  });
}
