/**
 * The TensorFlow.js model against the independent float64 reference (test/support/reference-model.ts):
 * same loss, same outputs and final state, gradients equal to central finite differences, and
 * exact zeros where no path leads from a parameter to the loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import type { ModelSpec } from '../../../shared/model/model-spec.js';
import type { TrainingBatch } from '../../../shared/model/training-batch.js';
import {
  referenceForward,
  referenceParameterShapes,
  type Float64Params,
} from '../../support/reference-model.js';
import {
  finiteDifferenceGradients,
  selectEntries,
  toFloat64Params,
} from '../../support/finite-differences.js';
import {
  backendsUnderTest,
  makeBatch,
  makeSpec,
  maxAbsDiff,
  perturbedArrays,
  reservedTokens,
  specLabel,
  useBackend,
  type BatchOptions,
  type SpecOptions,
} from './model-test-helpers.js';

// Tolerances.
// - Loss: the model computes in float32 (unit roundoff 6e-8); a loss of O(1) summed over ~15 steps
//   keeps a relative error of ~1e-6, so rel 1e-5 against the float64 reference is safe.
// - Gradients: float32 analytic back-propagation vs float64 central differences with eps 1e-6.
//   The FD truncation error is O(eps²·|L'''|) ≈ 1e-12 and its round-off O(1e-16/eps) ≈ 1e-10, so the
//   FD values are exact to ~1e-9; the float32 analytic gradient of entries of size ≲ 1 carries an
//   error of a few 1e-7 accumulated over the time steps. abs 1e-5 + rel 1e-3 is therefore ~30×
//   looser than the expected error yet far tighter than any real mistake (a wrong gate, a missing
//   mask or a missing 1/count shows up at 1e-2 or more).
const LOSS_REL_TOL = 1e-5;
const GRAD_ABS_TOL = 1e-5;
const GRAD_REL_TOL = 1e-3;
const OUTPUT_ABS_TOL = 1e-5;
const FD_EPS = 1e-6;

interface Case {
  spec: SpecOptions;
  batch: Omit<BatchOptions, 'seed'>;
}

const B3_PADDED = { batchSize: 3, steps: 6, padding: [2, 0, 1] };

const cases: Case[] = [
  {
    spec: { cell: 'rnn', task: 'lm', layers: 2, hidden: 6 },
    batch: {
      ...B3_PADDED,
      skipLoss: [
        [1, 3],
        [2, 4],
      ],
    },
  },
  {
    spec: { cell: 'rnn', task: 'forecast', hidden: 5, dropout: 0.25, recurrentDropout: 0.4 },
    batch: {
      batchSize: 2,
      steps: 5,
      padding: [1, 0],
      skipLoss: [[1, 2]],
      dropoutMasks: true,
      zeroInputColumn: 1,
      zeroRecurrentColumn: 3,
    },
  },
  {
    spec: { cell: 'lstm', task: 'tag', inputKind: 'tokens', hidden: 6, labels: 4 },
    batch: {
      ...B3_PADDED,
      skipLoss: [
        [0, 3],
        [1, 0],
        [2, 5],
      ],
    },
  },
  {
    spec: { cell: 'lstm', task: 'classify', peepholes: true, layers: 2, hidden: 5, labels: 3 },
    batch: { ...B3_PADDED, eosStep: [5, 4, 5] },
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
    batch: {
      ...B3_PADDED,
      skipLoss: [[1, 5]],
      dropoutMasks: true,
      zeroInputColumn: 2,
      zeroRecurrentColumn: 0,
    },
  },
  {
    spec: {
      cell: 'lstm',
      task: 'forecast',
      coupledGates: true,
      hidden: 6,
      dropout: 0.2,
      recurrentDropout: 0.3,
    },
    batch: { ...B3_PADDED, skipLoss: [[0, 4]], dropoutMasks: true, zeroRecurrentColumn: 4 },
  },
  {
    spec: {
      cell: 'lstm',
      task: 'classify',
      coupledGates: true,
      peepholes: true,
      layers: 2,
      hidden: 5,
      labels: 3,
    },
    batch: { ...B3_PADDED, eosStep: [4, 5, 3] },
  },
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
    batch: {
      ...B3_PADDED,
      skipLoss: [
        [0, 2],
        [1, 1],
      ],
      dropoutMasks: true,
      zeroInputColumn: 0,
      zeroRecurrentColumn: 5,
    },
  },
  {
    spec: { cell: 'gru', task: 'lm', hidden: 7 },
    batch: { ...B3_PADDED, skipLoss: [[2, 2]] },
  },
  {
    spec: { cell: 'gru', task: 'classify', hidden: 5, labels: 3 },
    batch: { batchSize: 2, steps: 5, padding: [0, 2], eosStep: [3, 4] },
  },
  // Sizes off the bucket ladder (batch-buckets.ts): the model pads 9 rows × 9 steps to 10 × 10
  // (rows of zeros appended, invalid steps put in front) and must still match the reference.
  {
    spec: { cell: 'lstm', task: 'lm', hidden: 5 },
    batch: { batchSize: 9, steps: 9, padding: [0, 3, 1, 0, 8, 2, 0, 5, 1], skipLoss: [[3, 6]] },
  },
  {
    spec: { cell: 'gru', task: 'forecast', hidden: 5 },
    batch: { batchSize: 5, steps: 9, padding: [0, 2, 4, 1, 0] },
  },
];

interface Prepared {
  spec: ModelSpec;
  batch: TrainingBatch;
  /** Float32 values assigned to the model (same on every backend). */
  arrays: Map<string, Float32Array>;
  params: Float64Params;
  reference: ReturnType<typeof referenceForward>;
  fd: ReturnType<typeof finiteDifferenceGradients>;
}

const preparedCache = new Map<number, Prepared>();

/** Parameters (model init + seeded perturbation), batch, reference forward and FD: once per case. */
function prepare(index: number, model: RecurrentModel): Prepared {
  const hit = preparedCache.get(index);
  if (hit) return hit;
  const c = cases[index]!;
  const spec = model.spec;
  const batch = makeBatch(spec, { ...c.batch, seed: 1000 + index });
  const arrays = perturbedArrays(
    model.params.toArrays(),
    (n) => model.params.shapeOf(n),
    2000 + index,
  );
  const params = toFloat64Params(arrays);
  const reference = referenceForward(spec, params, batch);
  const selection = selectEntries(spec, referenceParameterShapes(spec), { seed: 3000 + index });
  const fd = finiteDifferenceGradients(spec, params, batch, selection, { eps: FD_EPS });
  const prepared = { spec, batch, arrays, params, reference, fd };
  preparedCache.set(index, prepared);
  return prepared;
}

/** Rows [from, to) of a [rows, cols] gradient must be exactly zero. */
function assertZeroRows(grad: Float32Array, cols: number, rows: number[], what: string): void {
  for (const r of rows) {
    for (let j = 0; j < cols; j++) {
      assert.equal(
        grad[r * cols + j],
        0,
        `${what}: row ${r} col ${j} should get exactly zero gradient, got ${grad[r * cols + j]}`,
      );
    }
  }
}

function rowIsZero(grad: Float32Array, cols: number, r: number): boolean {
  for (let j = 0; j < cols; j++) if (grad[r * cols + j] !== 0) return false;
  return true;
}

const backends = await backendsUnderTest();

for (const [index, c] of cases.entries()) {
  const label = specLabel(makeSpec(c.spec));
  for (const backend of backends) {
    test(`${label}: loss, outputs and gradients match the float64 reference on ${backend.name}`, async (t) => {
      if (!backend.available) {
        t.skip(backend.reason ?? `${backend.name} backend not available`);
        return;
      }
      await useBackend(backend.name);
      const model = RecurrentModel.create({ spec: makeSpec(c.spec), seed: 42 + index });
      try {
        const p = prepare(index, model);
        const { spec, batch, reference } = p;
        model.params.assignArrays(p.arrays);

        // Parameter names and shapes are exactly those of docs/model-math.md.
        const shapes = referenceParameterShapes(spec);
        assert.deepEqual(
          [...model.params.names()].sort(),
          [...shapes.keys()].sort(),
          'parameter names',
        );
        for (const [name, shape] of shapes)
          assert.deepEqual(model.params.shapeOf(name), shape, `shape of ${name}`);

        // (a) forward-only loss, and the loss returned with the gradients.
        assert.ok(reference.count > 0 && Number.isFinite(reference.loss));
        const fwdLoss = model.loss(batch);
        assert.ok(
          Math.abs(fwdLoss - reference.loss) <= LOSS_REL_TOL * Math.abs(reference.loss),
          `loss(): tfjs ${fwdLoss} vs reference ${reference.loss}`,
        );
        const lg = model.lossAndGradients(batch);
        assert.ok(
          Math.abs(lg.loss - reference.loss) <= LOSS_REL_TOL * Math.abs(reference.loss),
          `lossAndGradients().loss: tfjs ${lg.loss} vs reference ${reference.loss}`,
        );
        assert.ok(
          Math.abs(lg.lossSum - reference.lossSum) <= LOSS_REL_TOL * Math.abs(reference.lossSum),
          `lossSum: tfjs ${lg.lossSum} vs reference ${reference.lossSum}`,
        );
        assert.equal(lg.count, reference.count, 'count (sum of the loss mask)');

        // Outputs at real (non-padded) steps and the final state.
        const fwd = model.forward(batch);
        const O = spec.outputSize;
        assert.equal(fwd.outputs.length, batch.batchSize * batch.steps * O, 'outputs length');
        for (let bt = 0; bt < batch.batchSize * batch.steps; bt++) {
          if (batch.validMask[bt] === 0) continue;
          for (let k = 0; k < O; k++) {
            const got = fwd.outputs[bt * O + k]!;
            const want = reference.outputs[bt * O + k]!;
            assert.ok(
              Math.abs(got - want) <= OUTPUT_ABS_TOL,
              `output [b*T+t=${bt}, ${k}]: tfjs ${got} vs reference ${want}`,
            );
          }
        }
        const st = maxAbsDiff(fwd.finalState, reference.finalState);
        assert.equal(fwd.finalState.length, reference.finalState.length, 'final state length');
        assert.ok(st.max <= OUTPUT_ABS_TOL, `final state differs by ${st.max} at ${st.index}`);

        // (b) gradients vs float64 central finite differences.
        assert.deepEqual(
          [...lg.gradients.keys()].sort(),
          [...shapes.keys()].sort(),
          'gradient names',
        );
        let probes = 0;
        for (const [name, { indices, values }] of p.fd) {
          const g = lg.gradients.get(name)!;
          assert.equal(g.length, p.params.get(name)!.length, `gradient length of ${name}`);
          indices.forEach((i, k) => {
            const want = values[k]!;
            const got = g[i]!;
            probes++;
            assert.ok(
              Math.abs(got - want) <= GRAD_ABS_TOL + GRAD_REL_TOL * Math.abs(want),
              `d loss / d ${name}[${i}]: tfjs ${got} vs finite differences ${want}`,
            );
          });
        }
        assert.ok(probes > 50, `probed ${probes} entries`);
        // The gradient is not trivially zero.
        let norm = 0;
        for (const g of lg.gradients.values()) for (const v of g) norm += v * v;
        assert.ok(norm > 1e-6, `gradient norm² ${norm}`);

        // (c) exact zeros where no path leads to the loss.
        if (spec.inputKind === 'tokens') {
          const E = spec.embedding;
          const emb = lg.gradients.get('embedding')!;
          const reserved = reservedTokens(spec);
          const used = new Set<number>();
          for (let bt = 0; bt < batch.batchSize * batch.steps; bt++) used.add(batch.tokens![bt]!);
          assert.ok(used.has(reserved.paddingOnly), 'fixture places the padding-only token');
          // Tokens seen only at left padding: the state passes through unchanged there.
          assertZeroRows(
            emb,
            E,
            [reserved.paddingOnly],
            'embedding row of a token seen only at padded steps',
          );
          // Tokens seen only after the last counted step of their row cannot influence the loss.
          if (used.has(reserved.afterLastLossOnly)) {
            assertZeroRows(
              emb,
              E,
              [reserved.afterLastLossOnly],
              'embedding row of a token seen only after the last counted step',
            );
          }
          // The BOS row learns only through inputs: zero unless BOS was fed.
          const bos = spec.vocabSize;
          if (used.has(bos)) {
            assert.ok(!rowIsZero(emb, E, bos), 'BOS row fed as the first lm input gets a gradient');
          } else {
            assertZeroRows(emb, E, [bos], 'BOS embedding row never fed as input');
          }
          // Token ids that never occur at all.
          for (let id = 0; id <= spec.vocabSize; id++)
            if (!used.has(id)) assertZeroRows(emb, E, [id], `embedding row of unused token ${id}`);
        }
        if (spec.cell === 'lstm' && spec.coupledGates) {
          for (let l = 0; l < spec.layers; l++)
            assert.ok(!lg.gradients.has(`layer${l}/wcf`), 'no wcf peephole when gates are coupled');
        }
        if (
          batch.dropoutMasks &&
          c.batch.zeroInputColumn !== undefined &&
          batch.dropoutMasks.input[0]
        ) {
          // An input unit dropped in every row for the whole window: its kernel rows get no gradient.
          const H = spec.hidden;
          const j = c.batch.zeroInputColumn;
          if (spec.cell === 'rnn')
            assertZeroRows(
              lg.gradients.get('layer0/W')!,
              H,
              [j],
              'layer0/W row of an always-dropped input',
            );
          if (spec.cell === 'lstm')
            assertZeroRows(
              lg.gradients.get('layer0/W')!,
              (spec.coupledGates ? 3 : 4) * H,
              [j],
              'layer0/W row of an always-dropped input',
            );
          if (spec.cell === 'gru') {
            assertZeroRows(
              lg.gradients.get('layer0/Wru')!,
              2 * H,
              [j],
              'layer0/Wru row of an always-dropped input',
            );
            assertZeroRows(
              lg.gradients.get('layer0/Wc')!,
              H,
              [j],
              'layer0/Wc row of an always-dropped input',
            );
          }
        }
        if (batch.dropoutMasks && c.batch.zeroRecurrentColumn !== undefined) {
          // A recurrent unit dropped in every row: the rows of U it multiplies get no gradient.
          const H = spec.hidden;
          const j = c.batch.zeroRecurrentColumn;
          for (let l = 0; l < spec.layers; l++) {
            if (!batch.dropoutMasks.recurrent[l]) continue;
            if (spec.cell === 'rnn')
              assertZeroRows(
                lg.gradients.get(`layer${l}/U`)!,
                H,
                [j],
                `layer${l}/U row of an always-dropped recurrent unit`,
              );
            if (spec.cell === 'lstm')
              assertZeroRows(
                lg.gradients.get(`layer${l}/U`)!,
                (spec.coupledGates ? 3 : 4) * H,
                [j],
                `layer${l}/U row of an always-dropped recurrent unit`,
              );
            if (spec.cell === 'gru') {
              assertZeroRows(
                lg.gradients.get(`layer${l}/Uru`)!,
                2 * H,
                [j],
                `layer${l}/Uru row of an always-dropped recurrent unit`,
              );
              assertZeroRows(
                lg.gradients.get(`layer${l}/Uc`)!,
                H,
                [j],
                `layer${l}/Uc row of an always-dropped recurrent unit`,
              );
            }
          }
        }
      } finally {
        model.dispose();
      }
    });
  }
}

test('the float64 reference loss is the mean over the loss mask of per-step losses', () => {
  // Independent of tfjs: a consistency check of the reference itself.
  const spec = makeSpec({ cell: 'gru', task: 'tag', hidden: 4, labels: 3 });
  const shapes = referenceParameterShapes(spec);
  const params: Float64Params = new Map();
  let s = 1;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = Math.sin(s++ * 0.7) * 0.5;
    params.set(name, v);
  }
  const batch = makeBatch(spec, {
    batchSize: 2,
    steps: 4,
    padding: [1, 0],
    skipLoss: [[1, 2]],
    seed: 7,
  });
  const r = referenceForward(spec, params, batch);
  let sum = 0;
  let count = 0;
  for (let bt = 0; bt < 8; bt++) {
    sum += batch.lossMask[bt]! * r.stepLosses[bt]!;
    count += batch.lossMask[bt]!;
  }
  // 3 + 4 real steps, one of them skipped.
  assert.equal(count, 6);
  assert.equal(r.count, 6);
  assert.ok(Math.abs(r.loss - sum / count) < 1e-12);
  // At a padded step the state passes through unchanged: the first row's output at t = 0 is the
  // head applied to its initial top-layer h.
  const H = spec.hidden;
  const head = params.get('head/W')!;
  const hb = params.get('head/b')!;
  for (let k = 0; k < spec.outputSize; k++) {
    let y = hb[k]!;
    for (let j = 0; j < H; j++) y += batch.initialState[j]! * head[j * spec.outputSize + k]!;
    assert.ok(Math.abs(r.outputs[k]! - y) < 1e-12);
  }
});
