import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { FeatureNormalizer, LabelRegistry, createTokenizer } from '../../../shared/events/index.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import { encodeEvent } from '../../../shared/learner/event-encoder.js';
import { StreamLearner } from '../../../shared/learner/stream-learner.js';
import type { ModelSpec } from '../../../shared/model/model-spec.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import type { KeySequence } from '../../../shared/tbptt/key-sequence.js';
import type { TbpttTrainer, TrainStepResult } from '../../../shared/tbptt/tbptt-trainer.js';
import { buildWindowBatch } from '../../../shared/tbptt/window-batch.js';
import { tinyLmSpec } from '../../support/tiny-learner.js';

function forecastSpec(featureSize: number, horizon: number): ModelSpec {
  return tinyLmSpec({
    task: 'forecast',
    inputKind: 'features',
    featureSize,
    outputSize: horizon * featureSize,
    horizon,
  });
}

/** A learner of a fresh model with enabled statistics, and an encoder of events for it. */
function forecastLearner({
  spec,
  k1,
  k2,
  trainer,
}: {
  spec: ModelSpec;
  k1: number;
  k2: number;
  trainer?: TbpttTrainer;
}) {
  const model = RecurrentModel.create({ spec, seed: 3 });
  const tokens = createTokenizer({ kind: 'ids', vocabSize: spec.vocabSize });
  const labels = new LabelRegistry({ maxLabels: 1 });
  const normalizer = new FeatureNormalizer({
    featureSize: spec.featureSize,
    horizon: spec.horizon ?? 1,
  });
  const learner = new StreamLearner({
    model,
    trainer,
    tokens,
    labels,
    normalizer,
    k1,
    k2,
    maxKeysPerStep: 64,
    maxWaitMs: Number.MAX_SAFE_INTEGER,
    ttlMs: Number.MAX_SAFE_INTEGER,
    maxKeys: 1000,
  });
  let index = 0;
  const encode = (events: StreamEvent[]) =>
    events.map((event) => encodeEvent({ event, index: index++, spec, tokens, labels, normalizer }));
  return { model, learner, encode };
}

/**
 * Stands in for the TBPTT trainer: builds each training step's batch exactly as the trainer does
 * and counts, per (key, sequence, step position, h, feature), how often a target value counted.
 */
function recordingTrainer(spec: ModelSpec) {
  const counted = new Map<string, number>();
  const sequences = new Map<string, number>();
  const F = spec.featureSize;
  const width = (spec.horizon ?? 1) * F;
  const trainer = {
    async train(keys: readonly KeySequence[]): Promise<TrainStepResult> {
      const batch = buildWindowBatch({ spec, keys });
      keys.forEach((key, b) => {
        const sequence = sequences.get(key.key) ?? 0;
        for (let back = 0; back < key.window().length; back++) {
          const at = b * batch.steps + (batch.steps - 1 - back);
          const position = key.position - 1 - back;
          for (let j = 0; j < width; j++) {
            if (batch.targetMask![at * width + j] !== 1) continue;
            const id = `${key.key}#${sequence}@${position} h${Math.floor(j / F) + 1} f${j % F}`;
            counted.set(id, (counted.get(id) ?? 0) + 1);
          }
        }
        if (key.closing) sequences.set(key.key, sequence + 1);
        key.markTrained();
      });
      return { keys: keys.length, lossSum: 0, tokens: 0, steps: batch.steps };
    },
  } as unknown as TbpttTrainer;
  return { trainer, counted };
}

test('every horizon target value that arrives is trained exactly once, in the first step after it arrives; missing ones never', async () => {
  await tf.setBackend('cpu');
  const spec = forecastSpec(2, 3);
  const { trainer, counted } = recordingTrainer(spec);
  const { learner, encode, model } = forecastLearner({ spec, k1: 3, k2: 5, trainer });
  const value = (i: number) => [i, 10 - i];
  const a: StreamEvent[] = Array.from({ length: 20 }, (_, i) => ({
    key: 'a',
    features: i === 10 ? [i, NaN] : value(i),
    eos: false,
  }));
  // b: a sequence of 5 that ends with eos, then one of 6 that the input's end cuts off.
  const b: StreamEvent[] = Array.from({ length: 11 }, (_, i) => ({
    key: 'b',
    features: value(i),
    eos: i === 4,
  }));
  const events = encode([...a.slice(0, 7), ...b.slice(0, 8), ...a.slice(7), ...b.slice(8)]);
  // Batches cut anywhere: what is trained must not depend on them.
  for (const [from, to] of [
    [0, 5],
    [5, 17],
    [17, events.length],
  ])
    await learner.process(events.slice(from, to));
  await learner.finish();

  const expected = new Map<string, number>();
  const expect = (key: string, sequence: number, values: number[][]) => {
    for (let q = 1; q < values.length; q++)
      // step 0 has no last value to measure a change from
      for (let h = 1; h <= 3 && q + h - 1 < values.length; h++)
        for (let f = 0; f < 2; f++)
          if (!Number.isNaN(values[q + h - 1]![f]!))
            expected.set(`${key}#${sequence}@${q} h${h} f${f}`, 1);
  };
  expect(
    'a',
    0,
    a.map((e) => e.features!),
  );
  expect(
    'b',
    0,
    b.slice(0, 5).map((e) => e.features!),
  );
  expect(
    'b',
    1,
    b.slice(5).map((e) => e.features!),
  );
  assert.deepEqual(
    [...counted].sort(),
    [...expected].sort(),
    'target values trained, each exactly once',
  );
  assert.ok(!counted.has('a#0@10 h1 f1') && !counted.has('a#0@8 h3 f1'), 'the missing value');
  model.dispose();
});

test('a forecast reads the statistics of the events before it, never those of later events of its batch', async () => {
  await tf.setBackend('cpu');
  const spec = forecastSpec(1, 1);
  const { learner, encode, model } = forecastLearner({ spec, k1: 4, k2: 4 });
  // The head predicts a change of one unit everywhere: forecast = base + RMS of the changes so far.
  model.params.assignArrays(new Map([['head/b', Float32Array.of(1)]]));
  const stream: Array<[string, number]> = [
    ['a', 1],
    ['b', 100],
    ['a', 3],
    ['c', 7],
    ['a', 6],
    ['b', 90],
    ['c', 7],
  ];
  // One batch: all events are encoded before the first is predicted.
  const predictions = await learner.process(
    encode(stream.map(([key, x]) => ({ key, features: [x], eos: false }))),
  );
  // Independently: the base is the key's last value (the mean of all earlier values for a new
  // key), the unit the root mean square of the changes seen before the event (1 before any).
  const last = new Map<string, number>();
  const values: number[] = [];
  const changes: number[] = [];
  stream.forEach(([key, x], i) => {
    const base =
      last.get(key) ?? (values.length ? values.reduce((s, v) => s + v) / values.length : 0);
    const unit = changes.length
      ? Math.sqrt(changes.reduce((s, c) => s + c * c, 0) / changes.length)
      : 1;
    const forecast = predictions[i]!.forecast![0]!;
    assert.ok(
      Math.abs(forecast - (base + unit)) < 1e-4,
      `event ${i}: ${forecast} vs ${base + unit}`,
    );
    if (last.has(key)) changes.push(x - last.get(key)!);
    last.set(key, x);
    values.push(x);
  });
  model.dispose();
});

test('a missing feature is carried forward as input, not scored, and predicted from the last value seen', async () => {
  await tf.setBackend('cpu');
  const spec = forecastSpec(2, 1);
  const { learner, encode, model } = forecastLearner({ spec, k1: 4, k2: 4 });
  const predictions = await learner.process(
    encode([
      { key: 's', features: [1, 10], eos: false },
      { key: 's', features: [2, 20], eos: false },
      { key: 's', features: [3, NaN], eos: false },
      { key: 's', features: [4, 40], eos: false },
    ]),
  );
  const inputs = learner.store
    .get('s')!
    .buffer.exportSteps()
    .map((s) => Array.from(s.inputFeatures!));
  // Step 3's input is event 2's standardised features: feature 1, missing, repeats step 2's.
  assert.equal(inputs[3]![1], inputs[2]![1], 'the missing reading is carried forward');
  assert.notEqual(inputs[3]![0], inputs[2]![0], 'the present one moves on');
  // An untrained head forecasts the last value: feature 1 of event 3 is forecast as 20.
  assert.deepEqual(predictions[3]!.forecast, [3, 20]);
  assert.equal(predictions[2]!.squaredError, (2 - 3) ** 2, 'scored on the feature present only');
  assert.ok(Number.isNaN((predictions[2]!.actual as number[])[1]!));
  model.dispose();
});
