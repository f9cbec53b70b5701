import { Counter, type Registry } from 'prom-client';

/** Records written to the state changelog (key states, tombstones, progress). */
export function changelogRecordsTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_changelog_records_total',
    help: 'Records written to the state changelog (key states, tombstones, progress).',
    registers: [registry],
  });
}
