import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ShapeError } from '../../../../shared/errors/index.js';
import { applyHostUpdate } from '../../../../shared/optim/host/apply-host-update.js';
import { createHostOptimizer } from '../../../../shared/optim/host/create-host-optimizer.js';

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

/**
 * The textbook update in float64 (Adam with bias correction; SGD with PyTorch-style momentum), the
 * reference the host optimizers must follow: they round every stored value to float32.
 */
function referenceOptimizer({ type, momentum }: (typeof OPTIMIZERS)[number]) {
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const slots = new Map<string, Float64Array>();
  const slot = (key: string, length: number) => {
    if (!slots.has(key)) slots.set(key, new Float64Array(length));
    return slots.get(key)!;
  };
  let step = 0;
  return {
    apply(params: Map<string, Float64Array>, gradients: Map<string, Float32Array>, lr: number) {
      step++;
      for (const [name, g] of gradients) {
        const p = params.get(name)!;
        for (let i = 0; i < p.length; i++) {
          if (type === 'adam') {
            const m = slot(`m:${name}`, p.length);
            const v = slot(`v:${name}`, p.length);
            m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
            v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
            const mHat = m[i]! / (1 - beta1 ** step);
            const vHat = v[i]! / (1 - beta2 ** step);
            p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + epsilon);
          } else if (momentum > 0) {
            const v = slot(`velocity:${name}`, p.length);
            v[i] = momentum * v[i]! + g[i]!;
            p[i] = p[i]! - lr * v[i]!;
          } else p[i] = p[i]! - lr * g[i]!;
        }
      }
    },
    slotKeys: () => [...slots.keys()].sort(),
  };
}

for (const spec of OPTIMIZERS) {
  test(`host ${spec.type} (momentum ${spec.momentum}) follows the textbook update to float32 rounding over 20 steps, its slots keyed <slot>:<parameter>`, () => {
    const initial = arrays(1, 0.5);
    const host = new Map([...initial].map(([n, v]) => [n, v.slice()]));
    const hostOptimizer = createHostOptimizer(spec);
    const reference = new Map([...initial].map(([n, v]) => [n, Float64Array.from(v)]));
    const referenceUpdate = referenceOptimizer(spec);
    for (let step = 1; step <= 20; step++) {
      const g = arrays(step + 1, 1);
      const learningRate = 0.01 * (1 + (step % 3));
      hostOptimizer.apply(host, g, { learningRate, gradientScale: 1 });
      referenceUpdate.apply(reference, g, learningRate);
    }
    assert.equal(hostOptimizer.step, 20);
    for (const [name, got] of host) {
      const want = reference.get(name)!;
      for (let i = 0; i < got.length; i++)
        assert.ok(
          Math.abs(got[i]! - want[i]!) <= 2e-6 * Math.max(1, Math.abs(want[i]!)),
          `${name}[${i}]: host ${got[i]} vs reference ${want[i]}`,
        );
    }
    // The keys checkpoints hold the slots under.
    assert.deepEqual(
      [...hostOptimizer.saveState().slots.keys()].sort(),
      referenceUpdate.slotKeys(),
    );
  });
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
