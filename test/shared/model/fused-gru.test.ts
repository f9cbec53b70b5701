/**
 * The fused GRU path on the tensorflow backend (shared/model/fused/gru-block-sequence.ts: one
 * GRUBlockCell op per step forward, one GRUBlockCellGrad per step backward, in one custom
 * gradient over the window) against the generic tfjs time loop (shared/model/time-loop.ts, the
 * reference), on the same model, parameters and batch: same loss, gradient of every parameter,
 * outputs and final state; automatic fallback; no tensor (or native handle) leak.
 *
 * The path is the model's kernel choice: generic is what RNNSTREAM_FUSED=0 gives (see
 * shared/model/fused/fused-layer.ts); each test runs the same parameters through both paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fusedKernelStats,
  nativeOps,
  resetFusedKernelStats,
  type FusedKernelStats,
} from '../../../shared/model/fused/index.js';
import {
  makeBatch,
  makeSpec,
  specLabel,
  useBackend,
  type BatchOptions,
  type SpecOptions,
} from './model-test-helpers.js';

import {
  NO_PADDING,
  assertClose,
  assertSameResults,
  createModel,
  inMode,
  run,
  skip,
  twentyTrainingSteps,
  type Case,
} from './fused-test-helpers.js';

const agreeing: Case[] = [
  {
    what: 'with a loss mask that skips steps',
    spec: { cell: 'gru', task: 'lm', hidden: 6 },
    batch: {
      ...NO_PADDING,
      skipLoss: [
        [0, 1],
        [1, 3],
        [2, 5],
      ],
    },
  },
  {
    what: 'with the loss at one step per row',
    spec: { cell: 'gru', task: 'classify', layers: 2, hidden: 5, labels: 3 },
    batch: { ...NO_PADDING, eosStep: [5, 3, 4] },
  },
  {
    what: 'with input dropout',
    spec: {
      cell: 'gru',
      task: 'tag',
      inputKind: 'features',
      layers: 2,
      hidden: 6,
      labels: 4,
      dropout: 0.3,
    },
    batch: { ...NO_PADDING, skipLoss: [[1, 2]], dropoutMasks: true, zeroInputColumn: 0 },
  },
  {
    what: 'on a one-step window',
    spec: { cell: 'gru', task: 'lm', layers: 2, hidden: 6 },
    batch: { batchSize: 4, steps: 1, padding: [0, 0, 0, 0] },
  },
];

for (const [index, c] of agreeing.entries()) {
  const label = `${specLabel(makeSpec(c.spec))} ${c.what}`;
  test(
    `${label}: the fused path gives the generic path's loss, gradients, outputs and final state`,
    { skip },
    async () => {
      await useBackend('tensorflow');
      const model = createModel(c.spec, 100 + index);
      try {
        const batch = makeBatch(model.spec, { ...c.batch, seed: 200 + index });
        const fused = run(model, batch, 'auto');
        const generic = run(model, batch, 'generic');
        // Two runs of each path per case (loss + gradients, then forward), one per layer.
        assert.equal(fused.stats.fused.gru, 2 * model.spec.layers, 'every layer ran fused');
        assert.equal(generic.stats.fused.gru, 0, 'RNNSTREAM_FUSED=0 runs no fused kernel');
        assert.equal(
          generic.stats.generic.disabled,
          2 * model.spec.layers,
          'RNNSTREAM_FUSED=0 forces the generic path',
        );
        assertSameResults(fused, generic, model, label);
      } finally {
        model.dispose();
      }
    },
  );
}

test(
  'gru 2 layers: predictStep gives the same predictions and states on the fused and the generic path',
  { skip },
  async () => {
    await useBackend('tensorflow');
    const model = createModel({ cell: 'gru', task: 'lm', layers: 2, hidden: 6 }, 300);
    try {
      const B = 3;
      const state = new Float32Array(B * model.stateSize).map((_, i) => Math.sin(i) * 0.5);
      const input = { batchSize: B, tokens: Int32Array.from([0, 4, model.spec.vocabSize]), state };
      const generic = inMode(model, 'generic').predictStep(input);
      resetFusedKernelStats();
      const fused = inMode(model, 'auto').predictStep(input);
      assert.equal(fusedKernelStats().fused.gru, 2, 'both layers ran fused');
      assertClose(fused.outputs, generic.outputs, 'predictions');
      assertClose(fused.state, generic.state, 'states');
    } finally {
      model.dispose();
    }
  },
);

interface Fallback {
  what: string;
  spec: SpecOptions;
  batch: Omit<BatchOptions, 'seed'>;
  reason: keyof FusedKernelStats['generic'];
}

const fallbacks: Fallback[] = [
  {
    what: 'the batch has left padding',
    spec: { cell: 'gru', task: 'lm', hidden: 6 },
    batch: { batchSize: 3, steps: 6, padding: [2, 0, 1] },
    reason: 'padding',
  },
  {
    what: 'recurrent dropout is on',
    spec: { cell: 'gru', task: 'lm', layers: 2, hidden: 6, dropout: 0.2, recurrentDropout: 0.3 },
    batch: { ...NO_PADDING, dropoutMasks: true },
    reason: 'recurrent-dropout',
  },
];

for (const [index, f] of fallbacks.entries()) {
  test(
    `${specLabel(makeSpec(f.spec))}: falls back to the generic path, with the same results, when ${f.what}`,
    { skip },
    async () => {
      await useBackend('tensorflow');
      const model = createModel(f.spec, 400 + index);
      try {
        const batch = makeBatch(model.spec, { ...f.batch, seed: 500 + index });
        const auto = run(model, batch, 'auto');
        const generic = run(model, batch, 'generic');
        assert.equal(auto.stats.fused.gru, 0, 'no layer ran fused');
        assert.equal(
          auto.stats.generic[f.reason],
          2 * model.spec.layers,
          `every layer fell back because of ${f.reason}`,
        );
        assertSameResults(auto, generic, model, f.what);
      } finally {
        model.dispose();
      }
    },
  );
}

test(
  'rnn (Elman) on the tensorflow backend: the generic path runs, there is no fused Elman kernel',
  { skip },
  async () => {
    await useBackend('tensorflow');
    const model = createModel({ cell: 'rnn', task: 'lm', hidden: 4 }, 600);
    try {
      const batch = makeBatch(model.spec, { ...NO_PADDING, seed: 601 });
      const { stats } = run(model, batch, 'auto');
      assert.equal(stats.generic.cell, 2);
    } finally {
      model.dispose();
    }
  },
);

test(
  'gru 2 layers: 20 training steps through the fused path leak no tensor and no native handle',
  { skip },
  async () => {
    await useBackend('tensorflow');
    const model = createModel({ cell: 'gru', task: 'lm', layers: 2, hidden: 8, dropout: 0.2 }, 700);
    try {
      const batch = makeBatch(model.spec, {
        batchSize: 4,
        steps: 5,
        padding: [0, 0, 0, 0],
        skipLoss: [[0, 1]],
        dropoutMasks: true,
        seed: 701,
      });
      const native = nativeOps();
      assert.ok(native, 'tfjs-node backend handle');
      const { before, after, stats } = twentyTrainingSteps(inMode(model, 'auto'), batch, native);
      assert.equal(stats.fused.gru, 40, 'all 20 steps ran fused');
      assert.equal(after.tensors, before.tensors, 'live tfjs tensors after 20 steps');
      assert.equal(after.handles, before.handles, 'live TensorFlow tensor handles after 20 steps');
    } finally {
      model.dispose();
    }
  },
);
