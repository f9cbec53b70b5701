/**
 * The fused LSTM path on the tensorflow backend (shared/model/fused/: one BlockLSTM op forward,
 * BlockLSTMGrad or the per-step LSTMBlockCellGrad loop backward) against the generic tfjs time
 * loop (shared/model/time-loop.ts, the reference), on the same model, parameters and batch:
 * same loss, gradient of every parameter, outputs and final state; automatic fallback to the
 * generic loop when a condition does not hold; no tensor (or native handle) leak.
 *
 * The path is the model's kernel choice, as RNNSTREAM_FUSED would set it: `0` generic, `block` /
 * `cell` the fused path with that backward variant (see shared/model/fused/fused-layer.ts); each
 * test runs the same parameters through several paths (RecurrentModel.withKernels).
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
    spec: { cell: 'lstm', task: 'lm', hidden: 6 },
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
    what: 'with a loss mask that skips steps',
    spec: { cell: 'lstm', task: 'tag', hidden: 5, peepholes: true, labels: 4 },
    batch: {
      ...NO_PADDING,
      skipLoss: [
        [0, 0],
        [2, 2],
      ],
    },
  },
  {
    what: 'with the loss at one step per row',
    spec: { cell: 'lstm', task: 'classify', layers: 2, hidden: 5, labels: 3 },
    batch: { ...NO_PADDING, eosStep: [5, 3, 4] },
  },
  {
    what: 'with input dropout',
    spec: { cell: 'lstm', task: 'lm', layers: 2, hidden: 6, peepholes: true, dropout: 0.3 },
    batch: { ...NO_PADDING, skipLoss: [[1, 2]], dropoutMasks: true, zeroInputColumn: 1 },
  },
  {
    what: 'with input dropout, gradients reaching the feature projection',
    spec: {
      cell: 'lstm',
      task: 'forecast',
      inputKind: 'features',
      hidden: 6,
      peepholes: true,
      dropout: 0.25,
    },
    batch: { ...NO_PADDING, skipLoss: [[2, 0]], dropoutMasks: true },
  },
  {
    what: 'on a one-step window',
    spec: { cell: 'lstm', task: 'lm', layers: 2, hidden: 6, peepholes: true },
    batch: { batchSize: 4, steps: 1, padding: [0, 0, 0, 0] },
  },
  {
    what: 'on a one-step window',
    spec: { cell: 'lstm', task: 'tag', hidden: 7, labels: 3 },
    batch: { batchSize: 2, steps: 1, padding: [0, 0] },
  },
];

for (const [index, c] of agreeing.entries()) {
  const label = `${specLabel(makeSpec(c.spec))} ${c.what}`;
  for (const mode of ['block', 'cell'] as const) {
    test(
      `${label}: the fused path (${mode} backward) gives the generic path's loss, gradients, outputs and final state`,
      { skip },
      async () => {
        await useBackend('tensorflow');
        const model = createModel(c.spec, 100 + index);
        try {
          const batch = makeBatch(model.spec, { ...c.batch, seed: 200 + index });
          const fused = run(model, batch, mode);
          const generic = run(model, batch, 'generic');
          // Two runs of each path per case (loss + gradients, then forward), one per layer.
          assert.equal(fused.stats.fused.lstm, 2 * model.spec.layers, 'every layer ran fused');
          assert.equal(
            fused.stats.lstmGradient[mode],
            2 * model.spec.layers,
            `with the ${mode} backward`,
          );
          assert.equal(generic.stats.fused.lstm, 0, 'RNNSTREAM_FUSED=0 runs no fused kernel');
          assert.equal(
            generic.stats.generic.disabled,
            2 * model.spec.layers,
            'RNNSTREAM_FUSED=0 forces the generic path',
          );
          assertSameResults(fused, generic, model, `${label} (${mode})`);
        } finally {
          model.dispose();
        }
      },
    );
  }
}

test(
  'lstm+peepholes 2 layers: predictStep gives the same predictions and states on the fused and the generic path',
  { skip },
  async () => {
    await useBackend('tensorflow');
    const model = createModel(
      { cell: 'lstm', task: 'lm', layers: 2, hidden: 6, peepholes: true },
      300,
    );
    try {
      const B = 3;
      const state = new Float32Array(B * model.stateSize).map((_, i) => Math.sin(i) * 0.5);
      const input = { batchSize: B, tokens: Int32Array.from([0, 4, model.spec.vocabSize]), state };
      const generic = inMode(model, 'generic').predictStep(input);
      for (const mode of ['auto', 'block', 'cell'] as const) {
        resetFusedKernelStats();
        const fused = inMode(model, mode).predictStep(input);
        assert.equal(fusedKernelStats().fused.lstm, 2, `${mode}: both layers ran fused`);
        assertClose(fused.outputs, generic.outputs, `${mode}: predictions`);
        assertClose(fused.state, generic.state, `${mode}: states`);
      }
    } finally {
      model.dispose();
    }
  },
);

test(
  'lstm 2 layers: predictStep for zero keys runs on the generic path and the next call is fused again',
  { skip },
  async () => {
    await useBackend('tensorflow');
    const model = createModel({ cell: 'lstm', task: 'lm', layers: 2, hidden: 6 }, 350);
    try {
      const auto = inMode(model, 'auto');
      resetFusedKernelStats();
      const empty = auto.predictStep({
        batchSize: 0,
        tokens: new Int32Array(0),
        state: new Float32Array(0),
      });
      assert.equal(empty.outputs.length, 0);
      assert.equal(empty.state.length, 0);
      assert.equal(fusedKernelStats().generic.empty, 2, 'both layers: generic, because empty');
      auto.predictStep({
        batchSize: 1,
        tokens: Int32Array.from([2]),
        state: new Float32Array(model.stateSize),
      });
      assert.equal(fusedKernelStats().fused.lstm, 2, 'both layers fused on the next call');
      assert.equal(fusedKernelStats().generic.failed, 0, 'no fused call failed');
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
    spec: { cell: 'lstm', task: 'lm', hidden: 6, peepholes: true },
    batch: { batchSize: 3, steps: 6, padding: [2, 0, 1] },
    reason: 'padding',
  },
  {
    what: 'recurrent dropout is on',
    spec: { cell: 'lstm', task: 'lm', layers: 2, hidden: 6, dropout: 0.2, recurrentDropout: 0.3 },
    batch: { ...NO_PADDING, dropoutMasks: true },
    reason: 'recurrent-dropout',
  },
  {
    what: 'the gates are coupled',
    spec: { cell: 'lstm', task: 'tag', hidden: 6, coupledGates: true, peepholes: true, labels: 4 },
    batch: NO_PADDING,
    reason: 'coupled-gates',
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
        assert.equal(auto.stats.fused.lstm, 0, 'no layer ran fused');
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

test('lstm on the cpu backend: the generic path runs, fused kernels are tensorflow-only', async () => {
  await useBackend('cpu');
  const model = createModel({ cell: 'lstm', task: 'lm', hidden: 4 }, 600);
  try {
    const batch = makeBatch(model.spec, { ...NO_PADDING, seed: 601 });
    const { stats } = run(model, batch, 'auto');
    assert.equal(stats.fused.lstm, 0);
    assert.equal(stats.generic.backend, 2);
  } finally {
    model.dispose();
  }
});

for (const mode of ['block', 'cell'] as const) {
  test(
    `lstm+peepholes 2 layers: 20 training steps through the fused path (${mode} backward) leak no tensor and no native handle`,
    { skip },
    async () => {
      await useBackend('tensorflow');
      const model = createModel(
        { cell: 'lstm', task: 'lm', layers: 2, hidden: 8, peepholes: true, dropout: 0.2 },
        700,
      );
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
        const { before, after, stats } = twentyTrainingSteps(inMode(model, mode), batch, native);
        assert.equal(stats.lstmGradient[mode], 40, 'all 20 steps ran fused');
        assert.equal(after.tensors, before.tensors, 'live tfjs tensors after 20 steps');
        assert.equal(
          after.handles,
          before.handles,
          'live TensorFlow tensor handles after 20 steps',
        );
      } finally {
        model.dispose();
      }
    },
  );
}
