import type { Prediction } from '../events/prediction.js';
import { CodecError } from './codec-error.js';
import { rnnstream } from './generated/rnnstream.js';
import { checkInt64, int64ToNumber } from './int64.js';
import {
  fieldKey,
  fixed64FieldSize,
  lengthDelimitedSize,
  varintFieldSize,
  varintSize,
  writeDoubleField,
  writeLengthDelimitedHeader,
  writeVarint,
  writeVarintField,
} from './protobuf-wire.js';

const { Task } = rnnstream.v1.Prediction;
const TASKS: Record<Prediction['task'], rnnstream.v1.Prediction.Task> = {
  lm: Task.LM,
  tag: Task.TAG,
  classify: Task.CLASSIFY,
  forecast: Task.FORECAST,
  seq2seq: Task.SEQ2SEQ,
};

/** Prediction protobuf bytes for `<app>.predictions` (shared/events/prediction.ts, field for field). */
export function encodePrediction(p: Prediction): Uint8Array {
  return encodePredictions([p])[0]!;
}

/**
 * The Prediction protobuf of each prediction (`partition`, when given, overrides theirs), written
 * straight into one buffer; each result is a view of it. The bytes are protobufjs' (fields in
 * number order, proto3 defaults of the plain fields left out, tested against it): a worker
 * encodes one prediction per event, and protobufjs' Writer allocated a dozen objects for each.
 */
export function encodePredictions(
  predictions: readonly Prediction[],
  { partition }: { partition?: number } = {},
): Buffer[] {
  const sizes = new Int32Array(predictions.length);
  let total = 0;
  predictions.forEach((p, i) => {
    const size = predictionSize(p, partition ?? p.partition);
    sizes[i] = size;
    total += size;
  });
  const out = Buffer.allocUnsafe(total);
  const views: Buffer[] = new Array<Buffer>(predictions.length);
  let at = 0;
  predictions.forEach((p, i) => {
    const end = writePrediction(out, at, p, partition ?? p.partition);
    if (end - at !== sizes[i])
      throw new Error(`Prediction ${i}: planned ${sizes[i]} bytes, wrote ${end - at}`);
    views[i] = out.subarray(at, end);
    at = end;
  });
  return views;
}

/** Field numbers of rnnstream.v1.Prediction (proto/rnnstream.proto). */
const FIELD = {
  index: 1,
  key: 2,
  line: 3,
  task: 4,
  paramVersion: 5,
  eos: 6,
  predictedToken: 7,
  probability: 8,
  bits: 9,
  labelText: 10,
  labelId: 11,
  confidence: 12,
  actualText: 13,
  actualId: 14,
  actualVector: 15,
  forecast: 16,
  squaredError: 17,
  partition: 18,
  forecasts: 19,
  hypothesis: 20,
  target: 21,
  exactMatch: 22,
  editDistance: 23,
  hypothesisLogProb: 24,
} as const;

/** Field 1 of LabelVector: `repeated double values` (packed). */
const LABEL_VECTOR_VALUES = 1;

function taskOf(p: Prediction): number {
  const task = TASKS[p.task];
  if (task === undefined)
    throw new RangeError(
      `task is ${JSON.stringify(p.task)}, not one of ${Object.keys(TASKS).join(', ')}`,
    );
  return task;
}

function predictionSize(p: Prediction, partition: number | undefined): number {
  let n = 0;
  const index = checkInt64(p.index, 'index', { unsigned: true });
  if (index !== 0) n += varintFieldSize(FIELD.index, index);
  if (p.key !== '') n += stringFieldSize(FIELD.key, p.key);
  if (p.line !== undefined)
    n += varintFieldSize(FIELD.line, checkInt64(p.line, 'line', { unsigned: true }));
  n += varintFieldSize(FIELD.task, taskOf(p)); // never 0 (TASK_UNSPECIFIED is not a task)
  const version = checkInt64(p.paramVersion, 'paramVersion', { unsigned: true });
  if (version !== 0) n += varintFieldSize(FIELD.paramVersion, version);
  if (p.eos !== undefined) n += varintFieldSize(FIELD.eos, 1);
  if (p.predictedToken !== undefined) n += stringFieldSize(FIELD.predictedToken, p.predictedToken);
  if (p.probability !== undefined) n += fixed64FieldSize(FIELD.probability);
  if (p.bits !== undefined) n += fixed64FieldSize(FIELD.bits);
  if (typeof p.label === 'string') n += stringFieldSize(FIELD.labelText, p.label);
  else if (typeof p.label === 'number')
    n += int64FieldSize(FIELD.labelId, checkInt64(p.label, 'label'));
  if (p.confidence !== undefined) n += fixed64FieldSize(FIELD.confidence);
  if (typeof p.actual === 'string') n += stringFieldSize(FIELD.actualText, p.actual);
  else if (typeof p.actual === 'number')
    n += int64FieldSize(FIELD.actualId, checkInt64(p.actual, 'actual'));
  else if (p.actual !== undefined)
    n += lengthDelimitedSize(FIELD.actualVector, labelVectorBytes(p.actual));
  if (p.forecast !== undefined)
    n += lengthDelimitedSize(FIELD.forecast, labelVectorBytes(p.forecast));
  if (p.squaredError !== undefined) n += fixed64FieldSize(FIELD.squaredError);
  if (partition !== undefined) n += varintFieldSize(FIELD.partition, partition >>> 0);
  for (const vector of p.forecasts ?? [])
    n += lengthDelimitedSize(FIELD.forecasts, labelVectorBytes(vector));
  for (const token of p.hypothesis ?? []) n += stringFieldSize(FIELD.hypothesis, token);
  for (const token of p.target ?? []) n += stringFieldSize(FIELD.target, token);
  if (p.exactMatch !== undefined) n += varintFieldSize(FIELD.exactMatch, 1);
  if (p.editDistance !== undefined)
    n += varintFieldSize(
      FIELD.editDistance,
      checkInt64(p.editDistance, 'editDistance', { unsigned: true }),
    );
  if (p.hypothesisLogProb !== undefined) n += fixed64FieldSize(FIELD.hypothesisLogProb);
  return n;
}

/** Writes the fields in number order, as protobufjs does (predictionSize checked the values). */
function writePrediction(
  out: Buffer,
  start: number,
  p: Prediction,
  partition: number | undefined,
): number {
  let at = start;
  if (p.index !== 0) at = writeVarintField(out, at, FIELD.index, p.index);
  if (p.key !== '') at = writeStringField(out, at, FIELD.key, p.key);
  if (p.line !== undefined) at = writeVarintField(out, at, FIELD.line, p.line);
  at = writeVarintField(out, at, FIELD.task, taskOf(p));
  if (p.paramVersion !== 0) at = writeVarintField(out, at, FIELD.paramVersion, p.paramVersion);
  if (p.eos !== undefined) at = writeVarintField(out, at, FIELD.eos, p.eos ? 1 : 0);
  if (p.predictedToken !== undefined)
    at = writeStringField(out, at, FIELD.predictedToken, p.predictedToken);
  if (p.probability !== undefined) at = writeDoubleField(out, at, FIELD.probability, p.probability);
  if (p.bits !== undefined) at = writeDoubleField(out, at, FIELD.bits, p.bits);
  if (typeof p.label === 'string') at = writeStringField(out, at, FIELD.labelText, p.label);
  else if (typeof p.label === 'number') at = writeInt64Field(out, at, FIELD.labelId, p.label);
  if (p.confidence !== undefined) at = writeDoubleField(out, at, FIELD.confidence, p.confidence);
  if (typeof p.actual === 'string') at = writeStringField(out, at, FIELD.actualText, p.actual);
  else if (typeof p.actual === 'number') at = writeInt64Field(out, at, FIELD.actualId, p.actual);
  else if (p.actual !== undefined)
    at = writeLabelVectorField(out, at, FIELD.actualVector, p.actual);
  if (p.forecast !== undefined) at = writeLabelVectorField(out, at, FIELD.forecast, p.forecast);
  if (p.squaredError !== undefined)
    at = writeDoubleField(out, at, FIELD.squaredError, p.squaredError);
  if (partition !== undefined) at = writeVarintField(out, at, FIELD.partition, partition >>> 0);
  for (const vector of p.forecasts ?? [])
    at = writeLabelVectorField(out, at, FIELD.forecasts, vector);
  for (const token of p.hypothesis ?? []) at = writeStringField(out, at, FIELD.hypothesis, token);
  for (const token of p.target ?? []) at = writeStringField(out, at, FIELD.target, token);
  if (p.exactMatch !== undefined)
    at = writeVarintField(out, at, FIELD.exactMatch, p.exactMatch ? 1 : 0);
  if (p.editDistance !== undefined)
    at = writeVarintField(out, at, FIELD.editDistance, p.editDistance);
  if (p.hypothesisLogProb !== undefined)
    at = writeDoubleField(out, at, FIELD.hypothesisLogProb, p.hypothesisLogProb);
  return at;
}

function stringFieldSize(fieldNumber: number, value: string): number {
  return lengthDelimitedSize(fieldNumber, Buffer.byteLength(value));
}

function writeStringField(out: Buffer, at: number, fieldNumber: number, value: string): number {
  const length = Buffer.byteLength(value);
  const start = writeLengthDelimitedHeader(out, at, fieldNumber, length);
  return start + out.write(value, start, length, 'utf8');
}

/** An int64 field: negative values take 10 bytes (two's complement), as protobufjs writes them. */
function int64FieldSize(fieldNumber: number, value: number): number {
  return value < 0
    ? varintSize(fieldKey(fieldNumber, 0)) + 10
    : varintFieldSize(fieldNumber, value);
}

function writeInt64Field(out: Buffer, at: number, fieldNumber: number, value: number): number {
  if (value >= 0) return writeVarintField(out, at, fieldNumber, value);
  at = writeVarint(out, at, fieldKey(fieldNumber, 0));
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out[at++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[at++] = Number(v);
  return at;
}

/** Bytes of a LabelVector message: its packed doubles, or nothing at all when there are none. */
function labelVectorBytes(values: readonly number[]): number {
  return values.length === 0 ? 0 : lengthDelimitedSize(LABEL_VECTOR_VALUES, 8 * values.length);
}

function writeLabelVectorField(
  out: Buffer,
  at: number,
  fieldNumber: number,
  values: readonly number[],
): number {
  at = writeLengthDelimitedHeader(out, at, fieldNumber, labelVectorBytes(values));
  if (values.length === 0) return at;
  at = writeLengthDelimitedHeader(out, at, LABEL_VECTOR_VALUES, 8 * values.length);
  for (const v of values) at = out.writeDoubleLE(v, at);
  return at;
}

/** The Prediction of Prediction protobuf bytes (absent fields stay absent); throws CodecError. */
export function decodePrediction(bytes: Uint8Array): Prediction {
  try {
    const m = rnnstream.v1.Prediction.decode(bytes);
    const task = (Object.keys(TASKS) as Prediction['task'][]).find((t) => TASKS[t] === m.task);
    if (!task) throw new Error(`unknown task ${m.task}`);
    const has = (field: string) => Object.prototype.hasOwnProperty.call(m, field);
    const p: { -readonly [K in keyof Prediction]: Prediction[K] } = {
      index: int64ToNumber(m.index, 'index'),
      key: m.key,
      task,
      paramVersion: int64ToNumber(m.paramVersion, 'param_version'),
    };
    if (has('line')) p.line = int64ToNumber(m.line, 'line');
    if (has('eos')) p.eos = m.eos!;
    if (has('predictedToken')) p.predictedToken = m.predictedToken!;
    if (has('probability')) p.probability = m.probability!;
    if (has('bits')) p.bits = m.bits!;
    if (m.label === 'labelText') p.label = m.labelText!;
    else if (m.label === 'labelId') p.label = int64ToNumber(m.labelId, 'label_id');
    if (has('confidence')) p.confidence = m.confidence!;
    if (m.actual === 'actualText') p.actual = m.actualText!;
    else if (m.actual === 'actualId') p.actual = int64ToNumber(m.actualId, 'actual_id');
    else if (m.actual === 'actualVector') p.actual = m.actualVector?.values ?? [];
    if (m.forecast) p.forecast = m.forecast.values ?? [];
    if (has('squaredError')) p.squaredError = m.squaredError!;
    if (has('partition')) p.partition = m.partition!;
    if (m.forecasts.length > 0) p.forecasts = m.forecasts.map((v) => v.values ?? []);
    if (task === 'seq2seq') {
      p.hypothesis = m.hypothesis;
      p.target = m.target;
    }
    if (has('exactMatch')) p.exactMatch = m.exactMatch!;
    if (has('editDistance')) p.editDistance = m.editDistance!;
    if (has('hypothesisLogProb')) p.hypothesisLogProb = m.hypothesisLogProb!;
    return p;
  } catch (error) {
    throw new CodecError(
      `not a valid Prediction message (${bytes.length} bytes): ${(error as Error).message}`,
      { cause: error },
    );
  }
}
