/**
 * Batch sizes are padded to a bounded ladder (oneDNN caches primitives per shape for the life of
 * the process): the padded rows must change nothing a caller sees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paddedBatchSize } from '../../../shared/model/batch-buckets.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { stateSize, type ModelSpec } from '../../../shared/model/model-spec.js';
import type { TrainingBatch } from '../../../shared/model/training-batch.js';
import { tf } from '../../../shared/engine/tf.js';
import { makeBatch, makeSpec, maxAbsDiff, type SpecOptions } from './model-test-helpers.js';

test('batch sizes pad to at most 4 sizes per doubling, never more than a quarter above the rows', () => {
  assert.deepEqual(
    Array.from({ length: 20 }, (_, i) => paddedBatchSize(i + 1)),
    [1, 2, 3, 4, 5, 6, 7, 8, 10, 10, 12, 12, 14, 14, 16, 16, 20, 20, 20, 20],
  );
  assert.equal(paddedBatchSize(0), 0);
  assert.equal(paddedBatchSize(65), 80);
  assert.equal(paddedBatchSize(512), 512);
  assert.equal(paddedBatchSize(513), 640);
  const sizes = new Set<number>();
  for (let rows = 1; rows <= 512; rows++) {
    const padded = paddedBatchSize(rows);
    sizes.add(padded);
    assert.ok(padded >= rows && padded < rows * 1.25 + 1, `${rows} -> ${padded}`);
    assert.ok(padded >= paddedBatchSize(rows - 1), 'monotonic');
  }
  assert.ok(sizes.size <= 33, `${sizes.size} distinct sizes up to 512 rows`);
  assert.throws(() => paddedBatchSize(2.5), /not a non-negative integer/);
});

/** Rows [from, to) of a batch, every per-row array cut accordingly. */
function rowsOf(spec: ModelSpec, batch: TrainingBatch, from: number, to: number): TrainingBatch {
  const cut = <T extends Float32Array | Int32Array>(
    a: T | undefined,
    width: number,
  ): T | undefined => a && (a.slice(from * width, to * width) as T);
  const t = batch.steps;
  const masks = batch.dropoutMasks;
  const perRow = (m: Float32Array | undefined) => m && cut(m, m.length / batch.batchSize);
  return {
    batchSize: to - from,
    steps: t,
    tokens: cut(batch.tokens, t),
    features: cut(batch.features, t * spec.featureSize),
    classTargets: cut(batch.classTargets, t),
    regressionTargets: cut(batch.regressionTargets, t * spec.outputSize),
    lossMask: cut(batch.lossMask, t)!,
    validMask: cut(batch.validMask, t)!,
    initialState: cut(batch.initialState, stateSize(spec))!,
    dropoutMasks: masks && {
      input: masks.input.map(perRow),
      recurrent: masks.recurrent.map(perRow),
    },
  };
}

const SPECS: SpecOptions[] = [
  { cell: 'lstm', task: 'lm', hidden: 8 },
  { cell: 'gru', task: 'forecast', hidden: 6, layers: 2 },
  { cell: 'rnn', task: 'tag', hidden: 5, dropout: 0.3, recurrentDropout: 0.2 },
];

for (const options of SPECS) {
  const spec = makeSpec(options);
  test(`${spec.cell} ${spec.task}: a 9-row training batch (padded to 10) has the loss and gradients of its rows 0-3 and 4-8 computed apart`, () => {
    const model = RecurrentModel.create({ spec, seed: 7 });
    try {
      const padding = [0, 2, 0, 1, 0, 0, 3, 0, 1];
      const batch = makeBatch(spec, {
        batchSize: 9,
        steps: 5,
        padding,
        dropoutMasks: spec.dropout > 0,
        seed: 11,
      });
      assert.equal(paddedBatchSize(9), 10);
      const whole = model.lossAndGradients(batch);
      const a = model.lossAndGradients(rowsOf(spec, batch, 0, 4)); // 4 rows: not padded
      const b = model.lossAndGradients(rowsOf(spec, batch, 4, 9)); // 5 rows: not padded
      assert.equal(whole.count, a.count + b.count, 'only real rows count');
      assert.ok(
        Math.abs(whole.lossSum - (a.lossSum + b.lossSum)) <= 1e-5 * Math.abs(whole.lossSum),
        `loss sum ${whole.lossSum} vs ${a.lossSum} + ${b.lossSum}`,
      );
      for (const [name, g] of whole.gradients) {
        // Gradients of the mean loss: the count-weighted mean of the parts'.
        const expected = a.gradients
          .get(name)!
          .map((v, i) => (v * a.count + b.gradients.get(name)![i]! * b.count) / whole.count);
        const { max } = maxAbsDiff(g, expected);
        assert.ok(max <= 1e-6, `${name}: off by ${max}`);
      }
    } finally {
      model.dispose();
    }
  });
}

test('an inference step over 9 keys (padded to 10) returns 9 rows, each equal to the key stepped alone', () => {
  const spec = makeSpec({ cell: 'lstm', task: 'lm', hidden: 8, vocabSize: 11 });
  const model = RecurrentModel.create({ spec, seed: 3 });
  const before = tf.memory().numTensors;
  try {
    const rows = 9;
    const s = model.stateSize;
    const tokens = Int32Array.from({ length: rows }, (_, i) => (i * 5) % spec.vocabSize);
    const state = Float32Array.from({ length: rows * s }, (_, i) => Math.sin(i) * 0.5);
    const out = model.predictStep({ batchSize: rows, tokens, state });
    assert.equal(out.outputs.length, rows * spec.outputSize);
    assert.equal(out.state.length, rows * s);
    for (let r = 0; r < rows; r++) {
      const alone = model.predictStep({
        batchSize: 1,
        tokens: tokens.subarray(r, r + 1),
        state: state.slice(r * s, (r + 1) * s),
      });
      const o = spec.outputSize;
      assert.ok(maxAbsDiff(out.outputs.subarray(r * o, (r + 1) * o), alone.outputs).max <= 1e-6);
      assert.ok(maxAbsDiff(out.state.subarray(r * s, (r + 1) * s), alone.state).max <= 1e-6);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  } finally {
    model.dispose();
  }
});
