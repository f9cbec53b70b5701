import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createMetricsRegistry,
  ServiceProbes,
  startMetricsServer,
} from '../../../shared/metrics/index.js';

test('readiness waits for every declared condition and lists what it still waits for', () => {
  const probes = new ServiceProbes({
    conditions: { parameters: 'waiting for a version', group: 'joining the group' },
  });
  assert.deepEqual(probes.readiness(), {
    ok: false,
    reasons: ['parameters: waiting for a version', 'group: joining the group'],
  });
  probes.met('parameters');
  assert.deepEqual(probes.readiness().reasons, ['group: joining the group']);
  probes.met('group');
  assert.deepEqual(probes.readiness(), { ok: true, reasons: [] });
  probes.unmet('restore', 'restoring partitions 0, 1');
  assert.deepEqual(probes.readiness(), {
    ok: false,
    reasons: ['restore: restoring partitions 0, 1'],
  });
});

test('a failing part makes the service unready at once and unhealthy only after unhealthyAfterMs', () => {
  let now = 1_000;
  const probes = new ServiceProbes({ unhealthyAfterMs: 60_000, now: () => now });
  probes.failed('kafka', 'broker 127.0.0.1:1 refused the connection');
  assert.deepEqual(probes.readiness().reasons, [
    'kafka: failing: broker 127.0.0.1:1 refused the connection',
  ]);
  assert.equal(probes.health().ok, true, 'a short outage is retried, not restarted');
  now += 59_999;
  probes.failed('kafka', 'still refused'); // the clock runs from the first failure
  assert.equal(probes.health().ok, true);
  now += 1;
  assert.deepEqual(probes.health(), {
    ok: false,
    reasons: ['kafka: failing for 60 s: still refused'],
  });
  probes.recovered('kafka');
  assert.deepEqual(probes.health(), { ok: true, reasons: [] });
  assert.equal(probes.readiness().ok, true);
});

test('/readyz and /healthz answer 503 with the reasons, 200 once they hold; a server without probes is ready', async () => {
  let now = 0;
  const probes = new ServiceProbes({
    conditions: { restore: 'restoring partitions 3' },
    unhealthyAfterMs: 10,
    now: () => now,
  });
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const server = await startMetricsServer({ registry, port: 0, host: '127.0.0.1', probes });
  const plain = await startMetricsServer({ registry, port: 0, host: '127.0.0.1' });
  const get = async (port: number, path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, text: await response.text() };
  };
  try {
    assert.deepEqual(await get(server.port, '/readyz'), {
      status: 503,
      text: 'restore: restoring partitions 3\n',
    });
    assert.deepEqual(await get(server.port, '/healthz'), { status: 200, text: 'ok\n' });
    probes.met('restore');
    assert.deepEqual(await get(server.port, '/readyz'), { status: 200, text: 'ready\n' });
    probes.failed('kafka', 'coordinator not available');
    now = 10;
    assert.deepEqual(await get(server.port, '/healthz'), {
      status: 503,
      text: 'kafka: failing for 0 s: coordinator not available\n',
    });
    assert.equal((await get(server.port, '/readyz')).status, 503);
    assert.deepEqual(await get(plain.port, '/readyz'), { status: 200, text: 'ready\n' });
    assert.equal((await get(plain.port, '/nope')).status, 404);
  } finally {
    await server.close();
    await plain.close();
  }
});
