/**
 * Kubernetes and compose alert on the same rules: k8s/base/prometheus-rule.yaml is exactly what
 * scripts/sync-prometheus-rule.mjs makes of deploy/prometheus/rules/*.yml.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('the PrometheusRule in k8s/base holds the rule groups of deploy/prometheus, unchanged', async () => {
  const { render, TARGET } = (await import(join(root, 'scripts/sync-prometheus-rule.mjs'))) as {
    render(): string;
    TARGET: string;
  };
  assert.equal(
    readFileSync(TARGET, 'utf8'),
    render(),
    'k8s/base/prometheus-rule.yaml is stale (fix: npm run sync:rules)',
  );
  assert.match(render(), /alert: RnnstreamDecodeLatencyHigh/);
  assert.match(render(), /record: rnnstream:prediction_bits_per_token:rate5m/);
});
