import { Counter, type Registry } from 'prom-client';

/** State changelog records read while restoring. */
export function restoreRecordsTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_restore_records_total',
    help: 'State changelog records read while restoring.',
    registers: [registry],
  });
}
