/**
 * The services' metric tables (shared/metrics/worker-metrics.ts, paramserver-metrics.ts, decoder-metrics.ts) follow
 * prom-client's naming rules row by row, and build exactly the families they list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createMetricsRegistry } from '../../../shared/metrics/index.js';
import type { AnyFamily } from '../../../shared/metrics/families.js';
import {
  createParamserverMetrics,
  PARAMSERVER_FAMILIES,
} from '../../../shared/metrics/paramserver-metrics.js';
import { createWorkerMetrics, WORKER_FAMILIES } from '../../../shared/metrics/worker-metrics.js';
import { createDecoderMetrics, DECODER_FAMILIES } from '../../../shared/metrics/decoder-metrics.js';

const services = [
  { service: 'worker', table: WORKER_FAMILIES, create: createWorkerMetrics },
  { service: 'paramserver', table: PARAMSERVER_FAMILIES, create: createParamserverMetrics },
  { service: 'decoder', table: DECODER_FAMILIES, create: createDecoderMetrics },
] as const;

for (const { service, table, create } of services) {
  test(`${service}: every row has the prefix, its unit in the name, _total on counters only, a histogram for a duration`, () => {
    for (const [field, row] of Object.entries(table) as Array<[string, AnyFamily]>) {
      const what = `${field} (${row.name})`;
      assert.match(row.name, new RegExp(`^rnnstream_${service}_[a-z_]+$`), what);
      if (row.type === 'counter') assert.match(row.name, /_total$/, what);
      else assert.doesNotMatch(row.name, /_total$/, what);
      if (row.unit) assert.ok(row.name.includes(`_${row.unit}`), `${what}: names its unit`);
      assert.doesNotMatch(row.name, /_(ms|milliseconds|minutes|kb|mb|kilobytes)(_|$)/, what);
      if (/duration/.test(row.name)) {
        assert.equal(row.type, 'histogram', `${what}: a duration is a histogram`);
        assert.equal(row.unit, 'seconds', `${what}: in seconds`);
      }
      if (row.type === 'histogram') assert.ok((row.buckets ?? []).length > 0, what);
      assert.ok(row.help.length > 0, what);
    }
  });

  test(`${service}: the factory registers one family per row, named as the row, labelled series at 0`, async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = create(registry);
    assert.deepEqual(Object.keys(metrics), Object.keys(table));
    const families = await registry.getMetricsAsJSON();
    assert.deepEqual(
      families.map((f) => f.name),
      Object.values(table).map((row: AnyFamily) => row.name),
    );
    for (const row of Object.values(table) as AnyFamily[]) {
      if (!row.labels) continue;
      const family = families.find((f) => f.name === row.name)!;
      // A histogram's series: one `_count` sample per label value (besides buckets and sum).
      const samples = family.values.filter(
        (v) =>
          row.type !== 'histogram' || (v as { metricName?: string }).metricName?.endsWith('_count'),
      );
      assert.deepEqual(
        samples.map((v) => v.labels[row.labels!.name]),
        [...row.labels.values],
        `${row.name}: a series per ${row.labels.name}`,
      );
      assert.ok(family.values.every((v) => v.value === 0));
    }
  });
}
