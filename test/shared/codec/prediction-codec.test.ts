import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Prediction } from '../../../shared/events/prediction.js';
import { InputError } from '../../../shared/errors/index.js';
import {
  decodePrediction,
  encodePrediction,
  encodePredictions,
} from '../../../shared/codec/prediction-codec.js';
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';
import {
  decodeDeadLetter,
  describeDeadLetterError,
  encodeDeadLetter,
  type DeadLetterRecord,
} from '../../../shared/codec/dead-letter-codec.js';

const predictions: Prediction[] = [
  {
    index: 0,
    key: 'doc',
    line: 1,
    task: 'lm',
    paramVersion: 3,
    predictedToken: 'e',
    probability: 0.125,
    bits: 3,
  },
  {
    index: 1,
    key: 'doc',
    task: 'lm',
    paramVersion: 0,
    eos: false,
    predictedToken: '',
    probability: 0,
    bits: Infinity,
  },
  {
    index: 7,
    key: 'mail',
    task: 'classify',
    paramVersion: 2,
    eos: true,
    label: 'spam',
    confidence: 0.9,
    actual: 'ham',
  },
  { index: 8, key: 'mail', task: 'tag', paramVersion: 2, label: 3, confidence: 0.5, actual: 0 },
  {
    index: 9,
    key: 'sensor',
    task: 'forecast',
    paramVersion: 1,
    forecast: [0.5, -1.25],
    actual: [0.25, 1],
    squaredError: 3.125,
  },
  { index: 10, key: 'sensor', task: 'forecast', paramVersion: 1, forecast: [] },
  {
    index: 11,
    key: 'sensor',
    task: 'forecast',
    paramVersion: 3,
    forecast: [0.5, -1.25],
    forecasts: [
      [0.5, -1.25],
      [0.75, -1.5],
      [1, -2],
    ],
    actual: [0.25, NaN],
    squaredError: 0.0625,
  },
  {
    index: 12,
    key: 'pairs',
    task: 'seq2seq',
    paramVersion: 4,
    bits: 7.5,
    hypothesis: ['K', 'AE1', 'T'],
    hypothesisLogProb: -0.75,
    target: ['K', 'AE1', 'T', 'S'],
    exactMatch: false,
    editDistance: 1,
  },
  {
    index: 13,
    key: 'pairs',
    task: 'seq2seq',
    paramVersion: 4,
    bits: 1.25,
    hypothesis: [],
    hypothesisLogProb: -0.1,
    target: ['ключ'],
    exactMatch: false,
    editDistance: 1,
  },
];

/** The same prediction encoded by protobufjs' generated code: the reference for the bytes. */
function protobufjsBytes(p: Prediction): Uint8Array {
  const { Task } = rnnstream.v1.Prediction;
  const task = {
    lm: Task.LM,
    tag: Task.TAG,
    classify: Task.CLASSIFY,
    forecast: Task.FORECAST,
    seq2seq: Task.SEQ2SEQ,
  }[p.task];
  const m: rnnstream.v1.Prediction.$Properties = {
    index: p.index,
    key: p.key,
    task,
    paramVersion: p.paramVersion,
  };
  if (p.line !== undefined) m.line = p.line;
  if (p.eos !== undefined) m.eos = p.eos;
  if (p.predictedToken !== undefined) m.predictedToken = p.predictedToken;
  if (p.probability !== undefined) m.probability = p.probability;
  if (p.bits !== undefined) m.bits = p.bits;
  if (typeof p.label === 'string') m.labelText = p.label;
  else if (typeof p.label === 'number') m.labelId = p.label;
  if (p.confidence !== undefined) m.confidence = p.confidence;
  if (typeof p.actual === 'string') m.actualText = p.actual;
  else if (typeof p.actual === 'number') m.actualId = p.actual;
  else if (p.actual !== undefined) m.actualVector = { values: [...p.actual] };
  if (p.forecast !== undefined) m.forecast = { values: [...p.forecast] };
  if (p.squaredError !== undefined) m.squaredError = p.squaredError;
  if (p.partition !== undefined) m.partition = p.partition;
  if (p.forecasts !== undefined) m.forecasts = p.forecasts.map((v) => ({ values: [...v] }));
  if (p.hypothesis !== undefined) m.hypothesis = [...p.hypothesis];
  if (p.target !== undefined) m.target = [...p.target];
  if (p.exactMatch !== undefined) m.exactMatch = p.exactMatch;
  if (p.editDistance !== undefined) m.editDistance = p.editDistance;
  if (p.hypothesisLogProb !== undefined) m.hypothesisLogProb = p.hypothesisLogProb;
  return rnnstream.v1.Prediction.encode(m).finish();
}

const edgeCases: Prediction[] = [
  ...predictions,
  {
    index: 2 ** 53 - 1,
    key: 'ключ-✓'.repeat(30),
    line: 300,
    task: 'lm',
    paramVersion: 128,
    eos: true,
    predictedToken: '\\x00',
    probability: 1e-30,
    bits: 99.66,
    partition: 4_000_000_000,
  },
  { index: 3, key: '', task: 'tag', paramVersion: 1, label: -5, actual: -(2 ** 40), partition: 0 },
  { index: 4, key: 'k', task: 'classify', paramVersion: 16_384, label: 0, confidence: 0 },
  {
    index: 5,
    key: 'v',
    task: 'forecast',
    paramVersion: 1,
    forecast: Array.from({ length: 20 }, (_, i) => i / 3),
    actual: [],
    squaredError: 0,
  },
];

test('predictions are written with the bytes protobufjs writes for them', () => {
  for (const p of edgeCases)
    assert.deepEqual(
      Buffer.from(encodePrediction(p)),
      Buffer.from(protobufjsBytes(p)),
      JSON.stringify(p),
    );
});

test('a batch of predictions is encoded into views of one buffer, each with the partition given', () => {
  const views = encodePredictions(edgeCases, { partition: 7 });
  assert.equal(views.length, edgeCases.length);
  views.forEach((bytes, i) => {
    assert.equal(bytes.buffer, views[0]!.buffer, 'one allocation');
    assert.deepEqual(
      Buffer.from(bytes),
      Buffer.from(protobufjsBytes({ ...edgeCases[i]!, partition: 7 })),
    );
    assert.equal(decodePrediction(bytes).partition, 7);
  });
  assert.deepEqual(encodePredictions([]), []);
  assert.throws(
    () => encodePredictions([{ ...edgeCases[0]!, index: -1 }]),
    /index is -1, not a non-negative safe integer/,
  );
});

for (const p of predictions) {
  test(`the ${p.task} prediction ${JSON.stringify(p)} round-trips with absent fields kept absent`, () => {
    assert.deepStrictEqual(decodePrediction(encodePrediction(p)), p);
  });
}

test('a dead letter keeps the original bytes, where they came from and why', () => {
  const record: DeadLetterRecord = {
    originalKey: new TextEncoder().encode('sensor-7'),
    originalValue: Uint8Array.of(0xff, 0x00, 0x12),
    sourceTopic: 'demo.events',
    partition: 3,
    offset: 987_654_321_000,
    ...describeDeadLetterError(
      new InputError({
        reason: 'not a valid Event protobuf (3 bytes): index out of range',
        fix: 'produce events with rnnstream produce',
      }),
    ),
    tsMs: 1_700_000_000_000,
    originalTsMs: 1_699_999_999_000,
  };
  assert.equal(record.errorType, 'InputError');
  assert.deepStrictEqual(decodeDeadLetter(encodeDeadLetter(record)), record);
  const nullKey: DeadLetterRecord = {
    sourceTopic: 't',
    partition: 0,
    offset: 0,
    error: 'x',
    errorType: 'Error',
    tsMs: 1,
    originalValue: new Uint8Array(0),
  };
  assert.deepStrictEqual(decodeDeadLetter(encodeDeadLetter(nullKey)), nullKey);
});
