/**
 * The window kernels (shared/model/window/: a layer window as one tf.customGrad with a
 * hand-written backward) against the generic tfjs time loop (shared/model/time-loop.ts, the
 * reference), on the same model, parameters and batch: same loss, gradient of every parameter,
 * outputs and final state, for every cell and option (LSTM peepholes and coupled gates, GRU,
 * Elman; left padding, input and recurrent dropout, several layers, one-step windows, every
 * task). They run on 'wasm' (their default backend) and on 'cpu' (window setting 'all', as
 * RNNSTREAM_WINDOW=all gives). Each test runs the same parameters through both paths
 * (RecurrentModel.withKernels); the last one checks that the environment variables choose them.
 *
 * Tolerance (fused-test-helpers.ts): |window − generic| ≤ 1e-6 + 1e-5 · max(|window|, |generic|)
 * per entry. The forward is the generic loop's own ops; the backward computes the same float32
 * formulas in another order (window-wide sums of the weight gradients as one product, the bias
 * gradient as a product with ones), ~1e-7 relative over these few steps; a wrong term gives
 * 1e-2 or more. The float64 reference and finite-difference checks of gradients.test.ts also
 * run on wasm, i.e. on the window kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { listAvailableBackends, withBackend } from '../../../shared/engine/select-backend.js';
import { FLAGS, resetFlags } from '../../../shared/engine/flags.js';
import { fusedKernelStats } from '../../../shared/model/fused/index.js';
import type { KernelChoice } from '../../../shared/model/layer-kernels.js';
import type { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import type { TrainingBatch } from '../../../shared/model/training-batch.js';
import {
  resetWindowKernelStats,
  windowKernelStats,
  type WindowKernelStats,
} from '../../../shared/model/window/index.js';
import { assertClose, assertSameResults, createModel } from './fused-test-helpers.js';
import {
  makeBatch,
  makeSpec,
  specLabel,
  type BatchOptions,
  type SpecOptions,
} from './model-test-helpers.js';

const hasWasm = (await listAvailableBackends()).includes('wasm');
const BACKENDS = [
  { name: 'wasm' as const, skip: !hasWasm && 'wasm backend does not initialise here' },
  { name: 'cpu' as const, skip: false as const },
];

type Mode = 'window' | 'generic';

/**
 * `model`'s parameters with the path forced: the window kernels on any backend
 * (RNNSTREAM_WINDOW=all), or the generic loop (RNNSTREAM_FUSED=0 as well).
 */
function onPath(model: RecurrentModel, mode: Mode): RecurrentModel {
  const kernels: KernelChoice = { fused: mode === 'generic' ? 'off' : 'auto', window: 'all' };
  return model.withKernels(kernels);
}

function runPath(model: RecurrentModel, batch: TrainingBatch, mode: Mode) {
  const path = onPath(model, mode);
  resetWindowKernelStats();
  const lg = path.lossAndGradients(batch);
  const fwd = path.forward(batch);
  return { ...lg, ...fwd, stats: fusedKernelStats(), windowStats: windowKernelStats() };
}

interface Case {
  spec: SpecOptions;
  batch: Omit<BatchOptions, 'seed'>;
}

const PADDED = { batchSize: 3, steps: 6, padding: [2, 0, 1] };
const FULL = { batchSize: 3, steps: 6, padding: [0, 0, 0] };

const cases: Case[] = [
  { spec: { cell: 'rnn', task: 'lm', hidden: 6 }, batch: { ...FULL, skipLoss: [[1, 2]] } },
  { spec: { cell: 'rnn', task: 'lm', layers: 2, hidden: 6 }, batch: PADDED },
  {
    spec: { cell: 'rnn', task: 'forecast', hidden: 5, dropout: 0.25, recurrentDropout: 0.4 },
    batch: { ...PADDED, dropoutMasks: true, zeroRecurrentColumn: 3 },
  },
  { spec: { cell: 'lstm', task: 'lm', hidden: 6 }, batch: { ...FULL, skipLoss: [[0, 1]] } },
  { spec: { cell: 'lstm', task: 'tag', hidden: 6, labels: 4 }, batch: PADDED },
  {
    spec: { cell: 'lstm', task: 'classify', peepholes: true, layers: 2, hidden: 5, labels: 3 },
    batch: { ...PADDED, eosStep: [5, 4, 5] },
  },
  {
    spec: {
      cell: 'lstm',
      task: 'lm',
      peepholes: true,
      hidden: 6,
      dropout: 0.3,
      recurrentDropout: 0.3,
    },
    batch: { ...PADDED, dropoutMasks: true, zeroInputColumn: 2, zeroRecurrentColumn: 0 },
  },
  {
    spec: { cell: 'lstm', task: 'forecast', coupledGates: true, hidden: 6, recurrentDropout: 0.3 },
    batch: { ...PADDED, dropoutMasks: true },
  },
  {
    spec: {
      cell: 'lstm',
      task: 'tag',
      coupledGates: true,
      peepholes: true,
      layers: 2,
      hidden: 5,
      labels: 3,
    },
    batch: FULL,
  },
  { spec: { cell: 'gru', task: 'lm', hidden: 7 }, batch: { ...FULL, skipLoss: [[2, 2]] } },
  {
    spec: {
      cell: 'gru',
      task: 'tag',
      inputKind: 'features',
      layers: 2,
      hidden: 6,
      labels: 4,
      dropout: 0.3,
      recurrentDropout: 0.3,
    },
    batch: { ...PADDED, dropoutMasks: true, zeroInputColumn: 0, zeroRecurrentColumn: 5 },
  },
  {
    spec: { cell: 'gru', task: 'classify', hidden: 5, labels: 3 },
    batch: { batchSize: 2, steps: 5, padding: [0, 2], eosStep: [3, 4] },
  },
  // One-step windows (k1 = k2 = 1, and predictStep's shape).
  {
    spec: { cell: 'lstm', task: 'lm', layers: 2, hidden: 6, peepholes: true },
    batch: { batchSize: 4, steps: 1, padding: [0, 0, 0, 0] },
  },
  {
    spec: { cell: 'gru', task: 'lm', hidden: 5 },
    batch: { batchSize: 2, steps: 1, padding: [0, 0] },
  },
  { spec: { cell: 'rnn', task: 'lm', hidden: 5 }, batch: { batchSize: 1, steps: 1, padding: [0] } },
  // One key.
  {
    spec: { cell: 'lstm', task: 'lm', hidden: 6 },
    batch: { batchSize: 1, steps: 5, padding: [1] },
  },
];

function kernelName(spec: SpecOptions): keyof WindowKernelStats['window'] {
  return spec.cell;
}

for (const backend of BACKENDS) {
  for (const [index, c] of cases.entries()) {
    const label = `${specLabel(makeSpec(c.spec))} B=${c.batch.batchSize} T=${c.batch.steps}${c.batch.padding.some((p) => p > 0) ? ' padded' : ''}${c.batch.dropoutMasks ? ' dropout' : ''}`;
    test(
      `[${backend.name}] ${label}: the window kernel gives the generic loop's loss, gradients, outputs and final state`,
      { skip: backend.skip },
      async () => {
        await withBackend(backend.name, () => {
          const model = createModel(c.spec, 800 + index);
          try {
            const batch = makeBatch(model.spec, { ...c.batch, seed: 900 + index });
            const generic = runPath(model, batch, 'generic');
            const window = runPath(model, batch, 'window');
            const layers = model.spec.layers;
            assert.equal(
              window.windowStats.window[kernelName(c.spec)],
              2 * layers,
              'every layer ran the window kernel (gradient and forward)',
            );
            assert.equal(
              generic.windowStats.skipped.disabled,
              2 * layers,
              'RNNSTREAM_FUSED=0 runs the generic loop',
            );
            assertSameResults(window, generic, model, `${backend.name} ${label}`);
          } finally {
            model.dispose();
          }
        });
      },
    );
  }

  test(
    `[${backend.name}] predictStep gives the generic loop's predictions and states`,
    { skip: backend.skip },
    async () => {
      await withBackend(backend.name, () => {
        for (const [k, spec] of (
          [
            { cell: 'lstm', task: 'lm', layers: 2, hidden: 6, peepholes: true },
            { cell: 'gru', task: 'classify', hidden: 5, labels: 3 },
            { cell: 'rnn', task: 'lm', hidden: 4 },
          ] as SpecOptions[]
        ).entries()) {
          const model = createModel(spec, 950 + k);
          try {
            const B = 3;
            const state = new Float32Array(B * model.stateSize).map((_, i) => Math.sin(i) * 0.5);
            const input = {
              batchSize: B,
              tokens: Int32Array.from([0, 2, model.spec.vocabSize]),
              state,
            };
            const generic = onPath(model, 'generic').predictStep(input);
            resetWindowKernelStats();
            const window = onPath(model, 'window').predictStep(input);
            assert.equal(windowKernelStats().window[kernelName(spec)], spec.layers ?? 1);
            assertClose(window.outputs, generic.outputs, `${spec.cell}: predictions`);
            assertClose(window.state, generic.state, `${spec.cell}: states`);
          } finally {
            model.dispose();
          }
        }
      });
    },
  );

  test(
    `[${backend.name}] 20 training steps through the window kernels leak no tensor`,
    { skip: backend.skip },
    async () => {
      await withBackend(backend.name, () => {
        for (const [k, spec] of (
          [
            {
              cell: 'lstm',
              task: 'lm',
              layers: 2,
              hidden: 8,
              peepholes: true,
              dropout: 0.2,
              recurrentDropout: 0.2,
            },
            { cell: 'gru', task: 'lm', hidden: 8, recurrentDropout: 0.2 },
            { cell: 'rnn', task: 'lm', hidden: 8 },
          ] as SpecOptions[]
        ).entries()) {
          const model = createModel(spec, 1000 + k);
          try {
            const batch = makeBatch(model.spec, {
              batchSize: 4,
              steps: 5,
              padding: [0, 2, 0, 1],
              dropoutMasks: true,
              seed: 1001 + k,
            });
            const path = onPath(model, 'window');
            for (const g of path.lossAndGradientTensors(batch).gradients.values()) g.dispose();
            const tensors = tf.memory().numTensors;
            resetWindowKernelStats();
            for (let step = 0; step < 20; step++) {
              const { gradients } = path.lossAndGradientTensors(batch);
              for (const g of gradients.values()) g.dispose();
            }
            assert.equal(windowKernelStats().window[kernelName(spec)], 20 * (spec.layers ?? 1));
            assert.equal(
              tf.memory().numTensors,
              tensors,
              `${spec.cell}: live tensors after 20 steps`,
            );
          } finally {
            model.dispose();
          }
        }
      });
    },
  );
}

test('window kernels are the default on wasm only; RNNSTREAM_WINDOW=0 and RNNSTREAM_FUSED=0 turn them off', async () => {
  const [FUSED_ENV, WINDOW_ENV] = [FLAGS.fused.env, FLAGS.window.env];
  const saved = [process.env[FUSED_ENV], process.env[WINDOW_ENV]];
  delete process.env[FUSED_ENV];
  delete process.env[WINDOW_ENV];
  try {
    const spec: SpecOptions = { cell: 'gru', task: 'lm', hidden: 4 };
    const check = (expect: 'window' | 'backend' | 'disabled') => {
      resetFlags(); // the flags are read again by the model created next
      const model = createModel(spec, 1100);
      try {
        resetWindowKernelStats();
        model.forward(makeBatch(model.spec, { ...FULL, seed: 1101 }));
        const stats = windowKernelStats();
        if (expect === 'window') assert.equal(stats.window.gru, 1);
        else assert.equal(stats.skipped[expect], 1, `skipped because of ${expect}`);
      } finally {
        model.dispose();
      }
    };
    await withBackend('cpu', () => check('backend'));
    if (hasWasm) {
      await withBackend('wasm', () => {
        check('window');
        process.env[WINDOW_ENV] = 'off';
        check('disabled');
        delete process.env[WINDOW_ENV];
        process.env[FUSED_ENV] = '0';
        check('disabled');
      });
    }
  } finally {
    for (const [k, v] of [
      [FUSED_ENV, saved[0]],
      [WINDOW_ENV, saved[1]],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetFlags();
  }
});
