import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import { ParameterServer, type OfferOutcome } from '../../../shared/paramserver/index.js';
import { gradient, initialState, serverOptions } from '../../support/paramserver/gradients.js';

await tf.setBackend('cpu');

/** A server at `version` after `version` rounds of one gradient each (worker 'w0'). */
function serverAt(version: number, mode: 'sync' | 'async', extra = {}) {
  const server = ParameterServer.create({
    options: serverOptions({ mode, staleness: 2, ...extra }),
    state: initialState(),
  });
  for (let v = 0; v < version; v++) {
    server.offer(gradient({ workerId: 'w0', step: v + 1, paramVersion: v }));
    server.applyRound(mode === 'sync' ? 'all-live' : 'arrival');
  }
  return server;
}

for (const mode of ['sync', 'async'] as const) {
  test(`[${mode}] gradients more than staleness versions old are dropped as stale; within the bound they are accepted`, () => {
    const server = serverAt(5, mode);
    const outcomes: OfferOutcome[] = [5, 4, 3, 2, 1].map((paramVersion, i) =>
      server.offer(gradient({ workerId: `w${i + 1}`, step: 1, paramVersion })),
    );
    assert.deepEqual(
      outcomes.map((o) => (o.kind === 'dropped' ? `${o.reason}:${o.staleness}` : o.kind)),
      ['accepted', 'accepted', 'accepted', 'stale:3', 'stale:4'],
    );
    const stale = outcomes[3]!;
    assert.ok(
      stale.kind === 'dropped' && /staleness is 2/.test(stale.detail),
      'detail names the bound',
    );
    assert.equal(server.pendingCount, 3);
    const report = server.applyRound(mode === 'sync' ? 'all-live' : 'arrival');
    assert.equal(report.gradients, 3, 'only the accepted ones are applied');
    assert.ok(Math.abs(report.meanStaleness - 1) < 1e-12, 'staleness 0, 1, 2 with equal tokens');
    server.dispose();
  });

  test(`[${mode}] a gradient on a version never published is dropped as future`, () => {
    const server = serverAt(1, mode);
    const outcome = server.offer(gradient({ workerId: 'w9', step: 1, paramVersion: 3 }));
    assert.equal(outcome.kind, 'dropped');
    assert.equal(outcome.kind === 'dropped' && outcome.reason, 'future');
    assert.equal(server.pendingCount, 0);
    server.dispose();
  });
}

test('[async] lrStalenessScaling divides the learning rate by 1 + the token-weighted mean staleness', () => {
  const server = serverAt(4, 'async', { lrStalenessScaling: true });
  server.offer(gradient({ workerId: 'a', step: 9, paramVersion: 4, tokens: 10 })); // staleness 0
  server.offer(gradient({ workerId: 'b', step: 9, paramVersion: 2, tokens: 30 })); // staleness 2
  const report = server.applyRound('arrival');
  assert.ok(Math.abs(report.meanStaleness - 1.5) < 1e-12);
  assert.ok(Math.abs(report.learningRate - 0.01 / 2.5) < 1e-15);
  server.dispose();
});

test('a gradient with other parameter names, another shape, no tokens or a NaN is dropped as invalid', () => {
  const server = serverAt(0, 'sync');
  const base = gradient({ workerId: 'w', step: 1, paramVersion: 0 });
  const renamed = new Map([...base.tensors].map(([n, v]) => [n === 'layer/b' ? 'layer/c' : n, v]));
  const reshaped = new Map(base.tensors);
  reshaped.set('layer/W', { shape: [3, 2], data: base.tensors.get('layer/W')!.data });
  const poisoned = new Map(base.tensors);
  const nan = Float32Array.from(base.tensors.get('layer/b')!.data);
  nan[1] = Number.NaN;
  poisoned.set('layer/b', { shape: [3], data: nan });
  const cases = [
    { tensors: renamed, detail: /missing: layer\/b; unknown: layer\/c/ },
    { tensors: reshaped, detail: /'layer\/W' has shape \[3, 2\] but the parameter has \[2, 3\]/ },
    { tensors: poisoned, detail: /'layer\/b'\[1\] is NaN, not finite/ },
  ];
  cases.forEach(({ tensors, detail }, i) => {
    const outcome = server.offer({ ...base, step: i + 1, tensors });
    assert.ok(outcome.kind === 'dropped' && outcome.reason === 'invalid', JSON.stringify(outcome));
    assert.match(outcome.detail, detail);
  });
  const empty = server.offer({ ...base, step: 9, tokens: 0 });
  assert.ok(
    empty.kind === 'dropped' && empty.reason === 'invalid' && /tokens is 0/.test(empty.detail),
  );
  assert.equal(server.pendingCount, 0);
  server.dispose();
});
