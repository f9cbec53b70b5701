/**
 * labelSegments: a batch of segments of different lengths gets, per segment, exactly the
 * distributions the model gives that segment alone (padding after a shorter one changes nothing),
 * one per step for tag and one per segment for classify; a unidirectional model is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { labelSegments } from '../../../shared/decoding/segment-labelling.js';
import { GENERIC_KERNELS } from '../../../shared/model/layer-kernels.js';
import type { ModelSpec, TaskType } from '../../../shared/model/model-spec.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';

function spec(task: TaskType, bidirectional = true): ModelSpec {
  return {
    task,
    inputKind: 'tokens',
    vocabSize: 5,
    featureSize: 0,
    outputSize: 3,
    cell: 'gru',
    layers: 2,
    hidden: 4,
    embedding: 3,
    peepholes: false,
    coupledGates: false,
    dropout: 0,
    recurrentDropout: 0,
    bidirectional,
  };
}

/** Softmax of the model's logits for one segment run alone, unpadded: [steps × O]. */
function alone(model: RecurrentModel, tokens: number[]): number[][] {
  const steps = tokens.length;
  const { outputs } = model.forward({
    batchSize: 1,
    steps,
    tokens: Int32Array.from(tokens),
    classTargets: new Int32Array(steps),
    lossMask: new Float32Array(steps),
    validMask: new Float32Array(steps).fill(1),
    initialState: new Float32Array(0),
  });
  const O = model.spec.outputSize;
  return Array.from({ length: steps }, (_, t) => {
    const row = Array.from(outputs.subarray(t * O, (t + 1) * O));
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    return row.map((v) => Math.exp(v - max) / sum);
  });
}

const segments = [[1, 4, 2, 0, 3, 1, 2], [3], [2, 2, 0]];

for (const task of ['tag', 'classify'] as const)
  test(`${task}: every segment of a padded batch is labelled as if it were alone`, async () => {
    await tf.setBackend('cpu');
    const model = RecurrentModel.create({ spec: spec(task), seed: 3, kernels: GENERIC_KERNELS });
    try {
      const outcomes = labelSegments({
        model,
        jobs: segments.map((s) => ({ tokens: Int32Array.from(s), steps: s.length })),
      });
      segments.forEach((s, i) => {
        const expected = alone(model, s);
        const rows = task === 'tag' ? expected : [expected[0]!];
        assert.equal(outcomes[i]!.length, rows.length * 3, `segment ${i}: one row per label`);
        rows
          .flat()
          .forEach((p, j) =>
            assert.ok(Math.abs(outcomes[i]![j]! - p) < 1e-6, `segment ${i}, value ${j}`),
          );
        if (task === 'classify')
          // The class reads both ends: every step of the segment has the same distribution.
          expected.forEach((row) =>
            row.forEach((p, c) => assert.ok(Math.abs(p - rows[0]![c]!) < 1e-6)),
          );
      });
      assert.throws(
        () => labelSegments({ model, jobs: [{ tokens: Int32Array.of(5), steps: 1 }] }),
        /tokens\[0\] = 5: not a token id in \[0, 5\)/,
      );
    } finally {
      model.dispose();
    }
  });

test('a unidirectional model is refused: its labels step a state (labelBatch)', async () => {
  await tf.setBackend('cpu');
  const model = RecurrentModel.create({ spec: spec('tag', false), seed: 3 });
  try {
    assert.throws(
      () => labelSegments({ model, jobs: [{ tokens: Int32Array.of(1), steps: 1 }] }),
      /labelSegments runs a bidirectional tag\/classify model.*fix: label with labelBatch/,
    );
  } finally {
    model.dispose();
  }
});
