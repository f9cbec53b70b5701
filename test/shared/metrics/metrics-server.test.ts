import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createMetricsRegistry, startMetricsServer } from '../../../shared/metrics/index.js';
import { createParamserverMetrics } from '../../../shared/metrics/paramserver-metrics.js';

test('GET /metrics serves the registry in Prometheus text format; /healthz answers ok; close() frees the port', async () => {
  const registry = createMetricsRegistry({ labels: { service: 'paramserver' } });
  const metrics = createParamserverMetrics(registry);
  metrics.gradientsReceived.inc(3);
  metrics.roundDuration.observe(0.2);
  metrics.gradientsDropped.inc({ reason: 'stale' });
  const server = await startMetricsServer({ registry, port: 0, host: '127.0.0.1' });
  try {
    const response = await fetch(server.url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /^# TYPE rnnstream_paramserver_gradients_received_total counter$/m);
    assert.match(
      text,
      /^rnnstream_paramserver_gradients_received_total\{service="paramserver"\} 3$/m,
    );
    assert.match(
      text,
      /^rnnstream_paramserver_gradients_dropped_total\{reason="stale",service="paramserver"\} 1$/m,
    );
    assert.match(
      text,
      /^rnnstream_paramserver_gradients_dropped_total\{reason="future",service="paramserver"\} 0$/m,
    );
    assert.match(
      text,
      /^rnnstream_paramserver_round_duration_seconds_bucket\{le="0.25",service="paramserver"\} 1$/m,
    );
    assert.match(text, /^process_cpu_seconds_total/m, 'default process metrics');
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.equal(await health.text(), 'ok\n');
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/nope`)).status, 404);
  } finally {
    await server.close();
  }
  await assert.rejects(fetch(server.url), 'the port is closed');
});

test('every paramserver family follows the naming rules: prefix, base units, _total counters', async () => {
  const registry = createMetricsRegistry({ defaultMetrics: false });
  createParamserverMetrics(registry);
  const families = await registry.getMetricsAsJSON();
  assert.ok(families.length >= 12);
  for (const family of families) {
    assert.match(family.name, /^rnnstream_paramserver_[a-z_]+$/);
    if (String(family.type) === 'counter') assert.match(family.name, /_total$/, family.name);
    else assert.doesNotMatch(family.name, /_total$/, family.name);
    assert.doesNotMatch(family.name, /_(ms|milliseconds|kb|mb)$/, 'base units');
    for (const v of family.values)
      for (const label of Object.keys(v.labels))
        assert.ok(
          ['reason', 'kind', 'trigger', 'le'].includes(label),
          `${family.name}: label ${label}`,
        );
  }
});
