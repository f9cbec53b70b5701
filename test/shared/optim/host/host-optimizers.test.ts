import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tf } from '../../../../shared/engine/tf.js';
import { ShapeError } from '../../../../shared/errors/index.js';
import { ParameterSet } from '../../../../shared/model/parameter-set.js';
import { createOptimizer } from '../../../../shared/optim/create-optimizer.js';
import { applyHostUpdate } from '../../../../shared/optim/host/apply-host-update.js';
import { createHostOptimizer } from '../../../../shared/optim/host/create-host-optimizer.js';
import { availableBackends } from '../../../support/backends.js';

const SHAPES = new Map<string, number[]>([
  ['a', [3, 4]],
  ['b', [5]],
]);

/** Deterministic pseudo-random values in [-scale, scale). */
function values(seed: number, length: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

const arrays = (seed: number, scale: number) =>
  new Map(
    [...SHAPES].map(([name, shape], i) => [
      name,
      values(
        seed * 10 + i,
        shape.reduce((a, b) => a * b, 1),
        scale,
      ),
    ]),
  );

const OPTIMIZERS = [
  { type: 'adam', momentum: 0 },
  { type: 'sgd', momentum: 0.9 },
  { type: 'sgd', momentum: 0 },
] as const;

for (const backend of await availableBackends(['cpu', 'tensorflow'])) {
  for (const spec of OPTIMIZERS) {
    test(`[${backend}] host ${spec.type} (momentum ${spec.momentum}) follows the backend optimizer to float32 rounding over 20 steps`, async () => {
      await tf.setBackend(backend);
      const initial = arrays(1, 0.5);
      const host = new Map([...initial].map(([n, v]) => [n, v.slice()]));
      const hostOptimizer = createHostOptimizer(spec);
      const params = new ParameterSet(
        [...initial].map(([name, v]) => ({ name, shape: SHAPES.get(name)!, values: v })),
      );
      const backendOptimizer = createOptimizer(spec);
      for (let step = 1; step <= 20; step++) {
        const g = arrays(step + 1, 1);
        const learningRate = 0.01 * (1 + (step % 3));
        hostOptimizer.apply(host, g, { learningRate, gradientScale: 1 });
        const tensors = new Map(
          [...g].map(([n, v]) => [n, tf.tensor(v, SHAPES.get(n)!, 'float32')] as const),
        );
        backendOptimizer.apply(params, tensors, { learningRate });
        for (const t of tensors.values()) t.dispose();
      }
      assert.equal(hostOptimizer.step, 20);
      assert.equal(backendOptimizer.step, 20);
      const expected = params.toArrays();
      for (const [name, got] of host) {
        const want = expected.get(name)!;
        for (let i = 0; i < got.length; i++)
          assert.ok(
            Math.abs(got[i]! - want[i]!) <= 2e-6 * Math.max(1, Math.abs(want[i]!)),
            `${name}[${i}]: host ${got[i]} vs backend ${want[i]}`,
          );
      }
      // Same slot keys as the backend optimizer: either restores the other's checkpoint.
      assert.deepEqual(
        [...hostOptimizer.saveState().slots.keys()].sort(),
        [...backendOptimizer.saveState().slots.keys()].sort(),
      );
      backendOptimizer.dispose();
      params.dispose();
    });
  }
}

for (const spec of OPTIMIZERS) {
  test(`host ${spec.type} (momentum ${spec.momentum}) restored from its saved state continues bit for bit`, () => {
    const run = (restoreAt: number | undefined) => {
      let params = arrays(3, 0.5);
      let optimizer = createHostOptimizer(spec);
      for (let step = 1; step <= 8; step++) {
        if (step === restoreAt) {
          const saved = optimizer.saveState();
          const copy = { step: saved.step, slots: new Map(saved.slots) };
          params = new Map([...params].map(([n, v]) => [n, v.slice()]));
          optimizer = createHostOptimizer(spec);
          optimizer.restoreState(copy, params);
        }
        optimizer.apply(params, arrays(step + 20, 1), { learningRate: 0.02, gradientScale: 0.7 });
      }
      return params;
    };
    assert.deepEqual(run(4), run(undefined));
  });
}

test('a slot whose length is not its parameter’s, or that names no parameter, is a ShapeError', () => {
  const params = arrays(5, 1);
  const optimizer = createHostOptimizer({ type: 'adam', momentum: 0 });
  assert.throws(
    () =>
      optimizer.restoreState({ step: 1, slots: new Map([['m:a', new Float32Array(3)]]) }, params),
    (error: unknown) =>
      error instanceof ShapeError &&
      /'m:a' has 3 values but parameter 'a' has 12/.test(error.message),
  );
  assert.throws(
    () =>
      optimizer.restoreState({ step: 1, slots: new Map([['v:c', new Float32Array(3)]]) }, params),
    (error: unknown) =>
      error instanceof ShapeError && /'v:c' belongs to no parameter/.test(error.message),
  );
});

test('the host update averages by tokens in float64, clips to the global norm, and reports both', () => {
  const params = new Map([['a', new Float32Array([1, 1, 1])]]);
  const average = new Map([['a', new Float32Array(3)]]);
  const contributions = [
    { tokens: 1, tensors: new Map([['a', { data: new Float32Array([3, 0, 4]) }]]) },
    { tokens: 3, tensors: new Map([['a', { data: new Float32Array([3, 0, 4]) }]]) },
  ];
  const optimizer = createHostOptimizer({ type: 'sgd', momentum: 0 });
  const report = applyHostUpdate({
    params,
    optimizer,
    contributions,
    clipGlobalNorm: 1,
    learningRate: 1,
    average,
  });
  assert.equal(report.tokens, 4);
  assert.equal(report.preClipNorm, 5);
  assert.equal(report.clipScale, 0.2);
  assert.deepEqual([...average.get('a')!], [3, 0, 4], 'the average before clipping');
  assert.deepEqual(
    [...params.get('a')!],
    [1 - 0.6, 1, 1 - 0.8].map(Math.fround),
    'p − lr · (g · 1/5)',
  );
});

test('the host update rejects a contribution that lacks a parameter, naming it', () => {
  const params = new Map([
    ['a', new Float32Array(2)],
    ['b', new Float32Array(2)],
  ]);
  assert.throws(
    () =>
      applyHostUpdate({
        params,
        optimizer: createHostOptimizer({ type: 'sgd', momentum: 0 }),
        contributions: [{ tokens: 1, tensors: new Map([['a', { data: new Float32Array(2) }]]) }],
        clipGlobalNorm: 0,
        learningRate: 1,
        average: new Map([...params].map(([n, p]) => [n, new Float32Array(p.length)])),
      }),
    (error: unknown) => error instanceof ShapeError && /parameter 'b'/.test(error.message),
  );
});
