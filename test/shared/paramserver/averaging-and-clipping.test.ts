import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import { ParameterServer } from '../../../shared/paramserver/index.js';
import { createLearningRateSchedule } from '../../../shared/optim/learning-rate-schedule.js';
import { availableBackends } from '../../support/backends.js';
import {
  assertSameBits,
  gradient,
  initialState,
  randomTensors,
  serverOptions,
} from '../../support/paramserver/gradients.js';

// Plain SGD (momentum 0): the applied update is exactly −lr · (clipped average), so the new
// parameters expose what the server averaged and clipped.
const sgd = (learningRate: number, clipGlobalNorm: number) =>
  serverOptions({
    clipGlobalNorm,
    optimizer: { type: 'sgd', momentum: 0 },
    schedule: createLearningRateSchedule({
      learningRate,
      warmupSteps: 0,
      decay: 'none',
      decaySteps: 1,
      minLearningRate: 0,
    }),
  });

/** Closed form in float64: Σ tᵢ gᵢ / Σ tᵢ, its norm, and the clipped average. */
function closedForm(
  contributions: Array<{ tokens: number; tensors: Map<string, { data: Float32Array }> }>,
  maxNorm: number,
) {
  const total = contributions.reduce((s, c) => s + c.tokens, 0);
  const average = new Map<string, Float64Array>();
  for (const name of contributions[0]!.tensors.keys()) {
    const n = contributions[0]!.tensors.get(name)!.data.length;
    const out = new Float64Array(n);
    for (const c of contributions) {
      const data = c.tensors.get(name)!.data;
      for (let i = 0; i < n; i++) out[i]! += (c.tokens / total) * data[i]!;
    }
    average.set(name, out);
  }
  let squares = 0;
  for (const a of average.values()) for (const x of a) squares += x * x;
  const norm = Math.sqrt(squares);
  const scale = maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1;
  return { average, norm, scale };
}

// float32 arithmetic on values of magnitude ≤ 2: 1e-6 absolute is ~10 ulps.
const TOLERANCE = 1e-6;

for (const backend of await availableBackends(['cpu', 'tensorflow'])) {
  test(`[${backend}] three workers with 3, 5 and 12 tokens: the update is the token-weighted average clipped to the global norm`, async () => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const state = initialState();
    const contributions = [
      { workerId: 'w1', tokens: 3, tensors: randomTensors(11, undefined, 1) },
      { workerId: 'w2', tokens: 5, tensors: randomTensors(12, undefined, 1) },
      { workerId: 'w3', tokens: 12, tensors: randomTensors(13, undefined, 1) },
    ];
    const maxNorm = 0.5;
    const expected = closedForm(contributions, maxNorm);
    assert.ok(
      expected.norm > 1,
      `the hand-made average must exceed the threshold (${expected.norm})`,
    );

    const server = ParameterServer.create({ options: sgd(0.1, maxNorm), state });
    for (const c of contributions)
      assert.equal(server.offer(gradient({ ...c, step: 1, paramVersion: 0 })).kind, 'accepted');
    const report = server.applyRound('all-live');
    assert.equal(report.version, 1);
    assert.equal(report.tokens, 20);
    assert.ok(Math.abs(report.preClipNorm - expected.norm) < 1e-5 * expected.norm);
    assert.ok(Math.abs(report.clipScale - expected.scale) < 1e-6);

    const after = server.parameterValues();
    let checked = 0;
    for (const p of state.params) {
      const avg = expected.average.get(p.name)!;
      const got = after.get(p.name)!;
      for (let i = 0; i < got.length; i++) {
        const want = p.values[i]! - 0.1 * expected.scale * avg[i]!;
        assert.ok(
          Math.abs(got[i]! - want) <= TOLERANCE,
          `${p.name}[${i}]: ${got[i]} vs closed form ${want}`,
        );
        checked++;
      }
    }
    assert.equal(checked, 9);
    // The global norm of what was applied is the threshold.
    let applied = 0;
    for (const p of state.params) {
      const got = after.get(p.name)!;
      for (let i = 0; i < got.length; i++) applied += ((p.values[i]! - got[i]!) / 0.1) ** 2;
    }
    assert.ok(Math.abs(Math.sqrt(applied) - maxNorm) < 1e-5, `applied norm ${Math.sqrt(applied)}`);
    server.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  });

  test(`[${backend}] a gradient under the threshold is applied untouched (bit for bit)`, async () => {
    await tf.setBackend(backend);
    const state = initialState();
    const tensors = randomTensors(21, undefined, 0.01);
    const server = ParameterServer.create({ options: sgd(1, 5), state });
    server.offer(gradient({ workerId: 'w1', step: 1, paramVersion: 0, tokens: 7, tensors }));
    const report = server.applyRound('all-live');
    assert.equal(report.clipScale, 1);
    assert.ok(report.preClipNorm < 5);
    const after = server.parameterValues();
    const expected = new Map(
      state.params.map((p) => [
        p.name,
        p.values.map((x, i) => Math.fround(x - tensors.get(p.name)!.data[i]!)),
      ]),
    );
    assertSameBits(after, expected, 'p − 1 · g');
    server.dispose();
  });

  test(`[${backend}] the order gradients arrive in does not change a single bit of the result`, async () => {
    await tf.setBackend(backend);
    const grads = ['w3', 'w1', 'w2'].map((workerId, i) =>
      gradient({ workerId, step: 4, paramVersion: 0, tokens: 2 + i * 3 }),
    );
    const run = (order: typeof grads) => {
      const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
      for (const g of order) server.offer(g);
      server.applyRound('all-live');
      const out = server.parameterValues();
      server.dispose();
      return out;
    };
    assertSameBits(run(grads), run([...grads].reverse()), 'reversed arrival order');
  });
}
