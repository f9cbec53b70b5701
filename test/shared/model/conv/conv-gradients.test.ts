/**
 * Gradients of the convolutional front end against central finite differences of independent
 * float64 references: the convolution alone (plain loops below), and whole models with a conv
 * front end (test/support/reference-model.ts with reference-conv.ts), whose windows carry left
 * context in their start states — so gradients reach the conv weights and the embedding rows
 * through inputs before the window, while the loss stays on the window's own steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor1D, Tensor3D } from '@tensorflow/tfjs';
import { tf } from '../../../../shared/engine/tf.js';
import { causalConv } from '../../../../shared/model/conv/causal-conv.js';
import type { ConvSpec } from '../../../../shared/model/conv/conv-spec.js';
import { sampleDropoutMasks } from '../../../../shared/model/dropout.js';
import {
  bosTokenId,
  recurrentStateSize,
  type ModelSpec,
} from '../../../../shared/model/model-spec.js';
import { createRng } from '../../../../shared/model/random.js';
import { RecurrentModel } from '../../../../shared/model/recurrent-model.js';
import type { TrainingBatch } from '../../../../shared/model/training-batch.js';
import {
  createTestRng,
  finiteDifferenceGradients,
  selectEntries,
  toFloat64Params,
} from '../../../support/finite-differences.js';
import { referenceForward, referenceParameterShapes } from '../../../support/reference-model.js';
import {
  backendsUnderTest,
  makeBatch,
  makeSpec,
  perturbedArrays,
  reservedTokens,
  useBackend,
  type BatchOptions,
} from '../model-test-helpers.js';

// As in ../gradients.test.ts: float32 analytic gradients vs float64 central differences.
const GRAD_ABS_TOL = 1e-5;
const GRAD_REL_TOL = 1e-3;
const LOSS_REL_TOL = 1e-5;
const FD_EPS = 1e-6;

const backends = await backendsUnderTest();

// ------------------------------------------------------------------ the convolution alone

/** y[b,t,o] = act(bias[o] + Σ_i Σ_c x[b, t + i·d, c] · kernel[i,c,o]) in float64, plain loops. */
function referenceConv(
  x: Float64Array,
  kernel: Float64Array,
  bias: Float64Array,
  [B, total, cin]: number[],
  cout: number,
  { kernelWidth: k, dilation: d, activation }: ConvSpec,
): Float64Array {
  const T = total - (k - 1) * d;
  const y = new Float64Array(B * T * cout);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let o = 0; o < cout; o++) {
        let s = bias[o]!;
        for (let i = 0; i < k; i++)
          for (let c = 0; c < cin; c++)
            s += x[(b * total + t + i * d) * cin + c]! * kernel[(i * cin + c) * cout + o]!;
        y[(b * T + t) * cout + o] =
          activation === 'tanh' ? Math.tanh(s) : activation === 'relu' ? Math.max(0, s) : s;
      }
  return y;
}

for (const backend of backends) {
  for (const conv of [
    { kernelWidth: 3, channels: 4, dilation: 2, activation: 'tanh', layers: 1 },
    { kernelWidth: 2, channels: 3, dilation: 1, activation: 'relu', layers: 1 },
    { kernelWidth: 4, channels: 2, dilation: 3, activation: 'linear', layers: 1 },
  ] satisfies ConvSpec[]) {
    test(`a causal conv (k ${conv.kernelWidth}, d ${conv.dilation}, ${conv.activation}): outputs and gradients for kernel, bias and inputs match float64 finite differences on ${backend.name}`, async (t) => {
      if (!backend.available) return t.skip(backend.reason);
      await useBackend(backend.name);
      const rng = createTestRng(31 + conv.kernelWidth);
      const B = 2;
      const T = 4;
      const cin = 3;
      const cout = conv.channels;
      const total = T + (conv.kernelWidth - 1) * conv.dilation;
      const shape = [B, total, cin];
      const random = (n: number, scale: number) =>
        Float32Array.from({ length: n }, () => scale * rng.normal());
      const x = random(B * total * cin, 1);
      const kernel = random(conv.kernelWidth * cin * cout, 0.5);
      const bias = random(cout, 0.3);
      // Loss = Σ w · y with fixed random weights: every output enters with its own weight.
      const w = random(B * T * cout, 1);
      const loss = (x64: Float64Array, k64: Float64Array, b64: Float64Array) =>
        referenceConv(x64, k64, b64, shape, cout, conv).reduce((s, y, i) => s + y * w[i]!, 0);

      const { value, grads } = tf.tidy(() => {
        const xs = tf.variable(tf.tensor3d(x, [B, total, cin]));
        const ks = tf.variable(tf.tensor3d(kernel, [conv.kernelWidth, cin, cout]));
        const bs = tf.variable(tf.tensor1d(bias));
        const result = tf.variableGrads(() =>
          tf.sum(
            tf.mul(
              causalConv({ kernel: ks as Tensor3D, bias: bs as Tensor1D }, xs as Tensor3D, conv),
              tf.tensor3d(w, [B, T, cout]),
            ),
          ),
        );
        const out = {
          value: result.value.dataSync()[0]!,
          grads: [xs, ks, bs].map((v) => result.grads[v.name]!.dataSync() as Float32Array),
        };
        [xs, ks, bs].forEach((v) => v.dispose());
        return out;
      });
      const x64 = Float64Array.from(x);
      const k64 = Float64Array.from(kernel);
      const b64 = Float64Array.from(bias);
      const reference = loss(x64, k64, b64);
      assert.ok(Math.abs(value - reference) <= 1e-4 * (1 + Math.abs(reference)), 'value');
      [x64, k64, b64].forEach((array, which) => {
        for (let i = 0; i < array.length; i++) {
          const saved = array[i]!;
          array[i] = saved + FD_EPS;
          const plus = loss(x64, k64, b64);
          array[i] = saved - FD_EPS;
          const minus = loss(x64, k64, b64);
          array[i] = saved;
          const want = (plus - minus) / (2 * FD_EPS);
          const got = grads[which]![i]!;
          assert.ok(
            Math.abs(got - want) <= 1e-4 + GRAD_REL_TOL * Math.abs(want),
            `${['inputs', 'kernel', 'bias'][which]}[${i}]: tfjs ${got} vs finite differences ${want}`,
          );
        }
      });
    });
  }
}

// ------------------------------------------------------------------ whole models with conv

interface Case {
  spec: ModelSpec;
  batch: Omit<BatchOptions, 'seed'>;
  dropout?: boolean;
  /** Also back-propagate in chunks of this many steps (the checkpointed path). */
  chunkSteps?: number;
}

const withConv = (spec: ModelSpec, conv: ConvSpec): ModelSpec => ({ ...spec, conv });

const cases: Case[] = [
  {
    spec: withConv(makeSpec({ task: 'lm', cell: 'lstm', vocabSize: 8, hidden: 5, embedding: 3 }), {
      kernelWidth: 3,
      channels: 4,
      dilation: 2,
      activation: 'tanh',
      layers: 2,
    }),
    batch: { batchSize: 3, steps: 6, padding: [2, 0, 1], skipLoss: [[1, 3]] },
  },
  {
    spec: withConv(
      makeSpec({ task: 'tag', cell: 'gru', vocabSize: 8, hidden: 5, embedding: 3, labels: 3 }),
      { kernelWidth: 2, channels: 4, dilation: 1, activation: 'relu', layers: 1 },
    ),
    batch: { batchSize: 3, steps: 5, padding: [0, 2, 1] },
  },
  {
    spec: withConv(
      makeSpec({
        task: 'forecast',
        cell: 'rnn',
        featureSize: 2,
        hidden: 5,
        embedding: 3,
        dropout: 0.3,
      }),
      { kernelWidth: 2, channels: 3, dilation: 3, activation: 'linear', layers: 1 },
    ),
    batch: { batchSize: 2, steps: 5, padding: [1, 0] },
    dropout: true,
  },
  {
    spec: withConv(
      makeSpec({
        task: 'classify',
        cell: 'lstm',
        inputKind: 'features',
        featureSize: 2,
        hidden: 4,
        embedding: 3,
        labels: 3,
      }),
      { kernelWidth: 3, channels: 3, dilation: 1, activation: 'tanh', layers: 1 },
    ),
    batch: { batchSize: 2, steps: 6, padding: [0, 0], eosStep: [5, 5] },
    chunkSteps: 2,
  },
  // Off the bucket ladder: the model pads 9 rows × 9 steps to 10 × 10 (rows with a zero state,
  // so an empty context, and invalid steps in front of every row), as a trainer's batch may be.
  {
    spec: withConv(makeSpec({ task: 'lm', cell: 'gru', vocabSize: 8, hidden: 4, embedding: 3 }), {
      kernelWidth: 2,
      channels: 3,
      dilation: 2,
      activation: 'tanh',
      layers: 1,
    }),
    batch: { batchSize: 9, steps: 9, padding: [0, 3, 1, 0, 8, 2, 0, 5, 1], skipLoss: [[3, 6]] },
  },
];

/**
 * The batch's start states get a valid conv context: the recurrent part stays random, each row's
 * context holds real inputs and (in row 0) empty slots before a sequence start; token rows hold
 * BOS, which a tag or classify step never feeds, so its embedding row learns through the context.
 */
function withContexts(spec: ModelSpec, batch: TrainingBatch, seed: number): TrainingBatch {
  const rng = createTestRng(seed);
  const S = batch.initialState.length / batch.batchSize;
  const R = recurrentStateSize(spec);
  const w = spec.inputKind === 'tokens' ? 1 : 1 + spec.featureSize;
  const C = (S - R) / w;
  const initialState = batch.initialState.slice();
  for (let b = 0; b < batch.batchSize; b++) {
    for (let j = 0; j < C; j++) {
      const at = b * S + R + j * w;
      initialState.fill(0, at, at + w);
      if (b === 0 && j === 0) continue; // empty: before the sequence start
      if (spec.inputKind === 'tokens')
        initialState[at] = 1 + (j === C - 1 ? bosTokenId(spec) : rng.int(spec.vocabSize - 2));
      else {
        initialState[at] = 1;
        for (let f = 0; f < spec.featureSize; f++) initialState[at + 1 + f] = rng.normal();
      }
    }
  }
  return { ...batch, initialState };
}

for (const [index, c] of cases.entries()) {
  const { spec } = c;
  const label = `${spec.cell} ${spec.task} on ${spec.inputKind} with conv (k ${spec.conv!.kernelWidth}, d ${spec.conv!.dilation}, ${spec.conv!.layers} layer${spec.conv!.layers > 1 ? 's' : ''}, ${spec.conv!.activation})${c.dropout ? ', dropout' : ''}${c.chunkSteps ? `, chunks of ${c.chunkSteps}` : ''}`;
  for (const backend of backends) {
    test(`${label}: loss, outputs, final state and gradients (conv, embedding through the context) match the float64 reference and finite differences on ${backend.name}`, async (t) => {
      if (!backend.available) return t.skip(backend.reason);
      await useBackend(backend.name);
      const model = RecurrentModel.create({ spec, seed: 50 + index });
      try {
        const arrays = perturbedArrays(
          model.params.toArrays(),
          (n) => model.params.shapeOf(n),
          60 + index,
        );
        model.params.assignArrays(arrays);
        const dropoutMasks = c.dropout
          ? sampleDropoutMasks({ spec, batchSize: c.batch.batchSize, rng: createRng(7) })
          : undefined;
        const batch = withContexts(
          spec,
          { ...makeBatch(spec, { ...c.batch, seed: 70 + index }), dropoutMasks },
          80 + index,
        );
        const params = toFloat64Params(arrays);
        const reference = referenceForward(spec, params, batch);

        const shapes = referenceParameterShapes(spec);
        assert.deepEqual([...model.params.names()].sort(), [...shapes.keys()].sort());
        for (const [name, shape] of shapes)
          assert.deepEqual(model.params.shapeOf(name), shape, `shape of ${name}`);

        const fwd = model.forward(batch);
        for (let bt = 0; bt < batch.batchSize * batch.steps; bt++) {
          if (batch.validMask[bt] === 0) continue;
          for (let o = 0; o < spec.outputSize; o++) {
            const i = bt * spec.outputSize + o;
            assert.ok(
              Math.abs(fwd.outputs[i]! - reference.outputs[i]!) <= 1e-5,
              `output ${i}: ${fwd.outputs[i]} vs ${reference.outputs[i]}`,
            );
          }
        }
        fwd.finalState.forEach((v, i) =>
          assert.ok(
            Math.abs(v - reference.finalState[i]!) <= 1e-5,
            `final state [${i}]: ${v} vs ${reference.finalState[i]}`,
          ),
        );

        const selection = selectEntries(spec, shapes, { seed: 90 + index });
        const fd = finiteDifferenceGradients(spec, params, batch, selection, { eps: FD_EPS });
        const variants = c.chunkSteps ? [Infinity, c.chunkSteps] : [Infinity];
        for (const chunkSteps of variants) {
          const { lossSum, count, gradients } = model.lossAndGradientTensors(batch, {
            chunkSteps,
          });
          const g = new Map([...gradients].map(([n, v]) => [n, v.dataSync() as Float32Array]));
          gradients.forEach((v) => v.dispose());
          assert.equal(count, reference.count);
          assert.ok(
            Math.abs(lossSum - reference.lossSum) <= LOSS_REL_TOL * Math.abs(reference.lossSum),
            `chunks of ${chunkSteps}: loss sum ${lossSum} vs reference ${reference.lossSum}`,
          );
          let convProbes = 0;
          for (const [name, { indices, values }] of fd) {
            indices.forEach((i, k) => {
              const want = values[k]!;
              const got = g.get(name)![i]!;
              if (name.startsWith('conv')) convProbes++;
              assert.ok(
                Math.abs(got - want) <= GRAD_ABS_TOL + GRAD_REL_TOL * Math.abs(want),
                `chunks of ${chunkSteps}: d loss / d ${name}[${i}]: tfjs ${got} vs finite differences ${want}`,
              );
            });
          }
          assert.ok(convProbes >= 10, `probed ${convProbes} conv entries`);
          const kernelGradient = g.get('conv0/kernel')!;
          assert.ok(
            kernelGradient.some((v) => Math.abs(v) > 1e-4),
            'the conv kernel gets a gradient',
          );
          if (spec.inputKind === 'tokens') {
            const E = spec.embedding;
            const embedding = g.get('embedding')!;
            const row = (id: number) => embedding.subarray(id * E, id * E + E);
            // Left padding is laid out before the context: its token reaches nothing.
            assert.ok(
              row(reservedTokens(spec).paddingOnly).every((v) => v === 0),
              'a token seen only at padded steps gets exactly zero gradient',
            );
            if (spec.task !== 'lm')
              assert.ok(
                row(bosTokenId(spec)).some((v) => v !== 0),
                'BOS, fed only through the conv context, gets a gradient',
              );
          }
        }
      } finally {
        model.dispose();
      }
    });
  }
}
