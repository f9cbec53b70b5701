/**
 * The encoder–decoder's loss and gradients against the independent float64 reference
 * (test/support/seq2seq-reference.ts): the same teacher-forced loss, and every probed gradient
 * entry equal to central finite differences of the reference — for attention, the bridge, stacked
 * layers, reversed sources and a padded batch of pairs of different lengths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../../shared/engine/tf.js';
import { Seq2seqModel } from '../../../../shared/model/seq2seq/seq2seq-model.js';
import { pairBatch } from '../../../../shared/model/seq2seq/pair-batch.js';
import type { Seq2seqSpec } from '../../../../shared/model/seq2seq/seq2seq-spec.js';
import { availableBackends } from '../../../support/backends.js';
import { createTestRng } from '../../../support/finite-differences.js';
import { referenceSeq2seqLoss, type Float64Params } from '../../../support/seq2seq-reference.js';

// float32 back-propagation against float64 central differences (eps 1e-6, exact to ~1e-9): the
// same tolerances as the recurrent model's gradient test; a wrong mask, a missing context path or
// a transposed weight shows up at 1e-2 or more.
const LOSS_REL_TOL = 1e-5;
const GRAD_ABS_TOL = 1e-5;
const GRAD_REL_TOL = 1e-3;
const FD_EPS = 1e-6;

const base: Seq2seqSpec = {
  sourceVocabSize: 7,
  targetVocabSize: 5,
  cell: 'gru',
  layers: 1,
  hidden: 5,
  encoderHidden: 5,
  embedding: 4,
  peepholes: false,
  coupledGates: false,
  reverseSource: false,
  bidirectional: false,
  attention: 'none',
  attentionSize: 3,
};

const cases: Array<{ name: string; spec: Seq2seqSpec }> = [
  {
    name: 'gru, additive attention, a bridge (encoder 6 → decoder 5), reversed source, 2 layers',
    spec: { ...base, attention: 'additive', encoderHidden: 6, reverseSource: true, layers: 2 },
  },
  { name: 'lstm without attention, no bridge', spec: { ...base, cell: 'lstm' } },
  {
    name: 'gru, one layer, a bridge (encoder 4 → decoder 5), no attention',
    spec: { ...base, encoderHidden: 4 },
  },
  { name: 'rnn with attention, no bridge', spec: { ...base, cell: 'rnn', attention: 'additive' } },
  {
    name: 'lstm, bidirectional encoder of 2 layers (bridge from both directions), attention',
    spec: { ...base, cell: 'lstm', bidirectional: true, layers: 2, attention: 'additive' },
  },
];

// Three pairs of different source and target lengths: the batch is padded on both sides.
const pairs = [
  { source: [1, 2, 3, 4, 5], target: [0, 1] },
  { source: [6, 0], target: [2, 3, 4, 1] },
  { source: [3], target: [] },
];

for (const backend of await availableBackends(['cpu', 'tensorflow'])) {
  for (const { name, spec } of cases) {
    test(`seq2seq gradients equal float64 finite differences (${backend}): ${name}`, async () => {
      await tf.setBackend(backend);
      const model = Seq2seqModel.create({ spec, seed: 3 });
      try {
        // Larger than initial values so that attention weights and gates are far from uniform.
        const rng = createTestRng(11);
        const arrays = model.params.toArrays();
        for (const values of arrays.values())
          for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-0.8, 0.8);
        model.params.assignArrays(arrays);
        const params: Float64Params = new Map(
          [...arrays].map(([n, v]) => [n, Float64Array.from(v)]),
        );

        const batch = pairBatch(spec, pairs);
        const { loss, gradients } = model.lossAndGradients(batch);
        const refLoss = referenceSeq2seqLoss(spec, params, pairs);
        assert.ok(
          Math.abs(loss - refLoss) <= LOSS_REL_TOL * Math.abs(refLoss),
          `loss ${loss} vs reference ${refLoss}`,
        );

        let probed = 0;
        for (const [pname, values] of params) {
          const picks = new Set<number>();
          const want = Math.min(values.length, 8);
          while (picks.size < want) picks.add(rng.int(values.length));
          for (const index of picks) {
            const saved = values[index]!;
            values[index] = saved + FD_EPS;
            const plus = referenceSeq2seqLoss(spec, params, pairs);
            values[index] = saved - FD_EPS;
            const minus = referenceSeq2seqLoss(spec, params, pairs);
            values[index] = saved;
            const fd = (plus - minus) / (2 * FD_EPS);
            const got = gradients.get(pname)![index]!;
            assert.ok(
              Math.abs(got - fd) <= GRAD_ABS_TOL + GRAD_REL_TOL * Math.abs(fd),
              `${pname}[${index}]: model ${got} vs finite difference ${fd}`,
            );
            probed++;
          }
        }
        // Every parameter was probed, including the attention and bridge ones where present.
        assert.equal(new Set(params.keys()).size, model.params.names().length);
        assert.ok(probed > 40);
        if (spec.attention === 'additive')
          assert.ok(
            Math.abs(gradients.get('attention/v')!.reduce((a, b) => a + Math.abs(b), 0)) > 1e-4,
            'attention receives a gradient',
          );
      } finally {
        model.dispose();
      }
    });
  }
}

test('padding a batch of pairs to the shape ladder changes neither its loss nor its gradient', async () => {
  await tf.setBackend('cpu');
  const spec: Seq2seqSpec = { ...base, attention: 'additive', bidirectional: true };
  const model = Seq2seqModel.create({ spec, seed: 5 });
  try {
    // 9 pairs (rows padded to 10), sources of up to 9 tokens (10), targets of up to 8 (9 + end → 10).
    const rng = createTestRng(3);
    const pairs = Array.from({ length: 9 }, (_, i) => ({
      source: Array.from({ length: 1 + i }, () => rng.int(7)),
      target: Array.from({ length: i % 9 }, () => rng.int(5)),
    }));
    const bucketed = pairBatch(spec, pairs);
    const exact = pairBatch(spec, pairs, { bucket: false });
    assert.deepEqual(
      [bucketed.sources.batchSize, bucketed.sources.steps, bucketed.targetSteps],
      [10, 10, 10],
    );
    assert.deepEqual([exact.sources.batchSize, exact.sources.steps, exact.targetSteps], [9, 9, 9]);
    const a = model.lossAndGradients(bucketed);
    const b = model.lossAndGradients(exact);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `loss ${a.loss} vs ${b.loss}`);
    for (const [name, g] of a.gradients) {
      const h = b.gradients.get(name)!;
      g.forEach((v, i) => assert.ok(Math.abs(v - h[i]!) < 1e-6, `${name}[${i}]: ${v} vs ${h[i]}`));
    }
  } finally {
    model.dispose();
  }
});
