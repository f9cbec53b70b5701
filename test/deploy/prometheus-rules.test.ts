/**
 * deploy/prometheus is valid for Prometheus itself: `promtool check config` and `check rules`,
 * and `promtool test rules`, whose unit tests fire and clear every alert.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  metricNames,
  PROMETHEUS_DIR,
  prometheusMissing,
  promtool,
  RULE_FILES,
  shippedExpressions,
} from '../support/prometheus/prometheus.js';

const missing = prometheusMissing();

test('promtool accepts the scrape configuration and every rule file', { skip: missing }, () => {
  const config = promtool(['check', 'config', 'prometheus.yml']);
  assert.equal(config.status, 0, config.output);
  const rules = promtool(['check', 'rules', ...RULE_FILES]);
  assert.equal(rules.status, 0, rules.output);
});

test('promtool unit tests fire and clear every alert rule', { skip: missing }, () => {
  const run = promtool(['test', 'rules', 'tests/alerts.test.yml']);
  assert.equal(run.status, 0, run.output);
  const tested = new Set(
    [
      ...readFileSync(join(PROMETHEUS_DIR, 'tests/alerts.test.yml'), 'utf8').matchAll(
        /alertname: (\w+)/g,
      ),
    ].map((m) => m[1]),
  );
  const alerts = shippedExpressions()
    .filter((e) => e.kind === 'alert')
    .map((e) => e.origin.replace('alert ', ''));
  assert.ok(alerts.length >= 8);
  for (const alert of alerts) assert.ok(tested.has(alert), `${alert} has a promtool unit test`);
});

test('metric names are read out of PromQL, leaving functions, keywords, labels and ranges', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (le, task) (rate(a_seconds_bucket{job="x"}[5m]))) > 0.5',
    ),
    ['a_seconds_bucket'],
  );
  assert.deepEqual(
    metricNames(
      'changes(v[15m]) == 0 and v offset 15m and on () sum(increase(b_total[15m])) > bool 0',
    ),
    ['v', 'b_total'],
  );
  assert.deepEqual(metricNames('rnnstream:x:rate5m > 1.5 * rnnstream:x:rate1h'), [
    'rnnstream:x:rate5m',
    'rnnstream:x:rate1h',
  ]);
});
