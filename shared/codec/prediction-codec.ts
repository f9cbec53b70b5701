import type { Prediction } from '../learner/prediction.js';
import { CodecError } from './codec-error.js';
import { rnnstream } from './generated/rnnstream.js';
import { checkInt64, int64ToNumber } from './int64.js';
import { varintSize, writeVarint } from './protobuf-wire.js';

const { Task } = rnnstream.v1.Prediction;
const TASKS: Record<Prediction['task'], rnnstream.v1.Prediction.Task> = {
  lm: Task.LM,
  tag: Task.TAG,
  classify: Task.CLASSIFY,
  forecast: Task.FORECAST,
};

/** Prediction protobuf bytes for `<app>.predictions` (shared/learner/prediction.ts, field for field). */
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

// Field keys (field number << 3 | wire type) of rnnstream.v1.Prediction.
const KEY = {
  index: 8,
  key: 18,
  line: 24,
  task: 32,
  paramVersion: 40,
  eos: 48,
  predictedToken: 58,
  probability: 65,
  bits: 73,
  labelText: 82,
  labelId: 88,
  confidence: 97,
  actualText: 106,
  actualId: 112,
  actualVector: 122,
  forecast: 130, // two bytes
  squaredError: 137, // two bytes
  partition: 144, // two bytes
} as const;

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
  if (index !== 0) n += 1 + varintSize(index);
  if (p.key !== '') n += stringFieldSize(1, p.key);
  if (p.line !== undefined) n += 1 + varintSize(checkInt64(p.line, 'line', { unsigned: true }));
  n += 1 + varintSize(taskOf(p)); // never 0 (TASK_UNSPECIFIED is not a task)
  const version = checkInt64(p.paramVersion, 'paramVersion', { unsigned: true });
  if (version !== 0) n += 1 + varintSize(version);
  if (p.eos !== undefined) n += 2;
  if (p.predictedToken !== undefined) n += stringFieldSize(1, p.predictedToken);
  if (p.probability !== undefined) n += 9;
  if (p.bits !== undefined) n += 9;
  if (typeof p.label === 'string') n += stringFieldSize(1, p.label);
  else if (typeof p.label === 'number') n += 1 + int64Size(checkInt64(p.label, 'label'));
  if (p.confidence !== undefined) n += 9;
  if (typeof p.actual === 'string') n += stringFieldSize(1, p.actual);
  else if (typeof p.actual === 'number') n += 1 + int64Size(checkInt64(p.actual, 'actual'));
  else if (p.actual !== undefined) n += 1 + labelVectorSize(p.actual);
  if (p.forecast !== undefined) n += 2 + labelVectorSize(p.forecast);
  if (p.squaredError !== undefined) n += 10;
  if (partition !== undefined) n += 2 + varintSize(partition >>> 0);
  return n;
}

function writePrediction(
  out: Buffer,
  start: number,
  p: Prediction,
  partition: number | undefined,
): number {
  let at = start;
  if (p.index !== 0) at = writeVarint(out, writeKey(out, at, KEY.index), p.index);
  if (p.key !== '') at = writeString(out, writeKey(out, at, KEY.key), p.key);
  if (p.line !== undefined) at = writeVarint(out, writeKey(out, at, KEY.line), p.line);
  at = writeVarint(out, writeKey(out, at, KEY.task), taskOf(p));
  if (p.paramVersion !== 0)
    at = writeVarint(out, writeKey(out, at, KEY.paramVersion), p.paramVersion);
  if (p.eos !== undefined) {
    out[at++] = KEY.eos;
    out[at++] = p.eos ? 1 : 0;
  }
  if (p.predictedToken !== undefined)
    at = writeString(out, writeKey(out, at, KEY.predictedToken), p.predictedToken);
  if (p.probability !== undefined)
    at = writeDouble(out, writeKey(out, at, KEY.probability), p.probability);
  if (p.bits !== undefined) at = writeDouble(out, writeKey(out, at, KEY.bits), p.bits);
  if (typeof p.label === 'string') at = writeString(out, writeKey(out, at, KEY.labelText), p.label);
  else if (typeof p.label === 'number')
    at = writeInt64(out, writeKey(out, at, KEY.labelId), p.label);
  if (p.confidence !== undefined)
    at = writeDouble(out, writeKey(out, at, KEY.confidence), p.confidence);
  if (typeof p.actual === 'string')
    at = writeString(out, writeKey(out, at, KEY.actualText), p.actual);
  else if (typeof p.actual === 'number')
    at = writeInt64(out, writeKey(out, at, KEY.actualId), p.actual);
  else if (p.actual !== undefined)
    at = writeLabelVector(out, writeKey(out, at, KEY.actualVector), p.actual);
  if (p.forecast !== undefined)
    at = writeLabelVector(out, writeKey(out, at, KEY.forecast), p.forecast);
  if (p.squaredError !== undefined)
    at = writeDouble(out, writeKey(out, at, KEY.squaredError), p.squaredError);
  if (partition !== undefined)
    at = writeVarint(out, writeKey(out, at, KEY.partition), partition >>> 0);
  return at;
}

function writeKey(out: Buffer, at: number, key: number): number {
  return writeVarint(out, at, key);
}

function stringFieldSize(keyBytes: number, value: string): number {
  const length = Buffer.byteLength(value);
  return keyBytes + varintSize(length) + length;
}

function writeString(out: Buffer, at: number, value: string): number {
  const length = Buffer.byteLength(value);
  const start = writeVarint(out, at, length);
  return start + out.write(value, start, length, 'utf8');
}

function writeDouble(out: Buffer, at: number, value: number): number {
  return out.writeDoubleLE(value, at);
}

/** An int64 varint: negative values take 10 bytes (two's complement), as protobufjs writes them. */
function int64Size(value: number): number {
  return value < 0 ? 10 : varintSize(value);
}

function writeInt64(out: Buffer, at: number, value: number): number {
  if (value >= 0) return writeVarint(out, at, value);
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out[at++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[at++] = Number(v);
  return at;
}

/** A LabelVector message (packed doubles in field 1; nothing at all when empty) with its length prefix. */
function labelVectorSize(values: readonly number[]): number {
  const body = values.length === 0 ? 0 : 1 + varintSize(8 * values.length) + 8 * values.length;
  return varintSize(body) + body;
}

function writeLabelVector(out: Buffer, at: number, values: readonly number[]): number {
  if (values.length === 0) {
    out[at] = 0;
    return at + 1;
  }
  const bytes = 8 * values.length;
  at = writeVarint(out, at, 1 + varintSize(bytes) + bytes);
  out[at++] = 10; // field 1, length-delimited (packed)
  at = writeVarint(out, at, bytes);
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
    return p;
  } catch (error) {
    throw new CodecError(
      `not a valid Prediction message (${bytes.length} bytes): ${(error as Error).message}`,
      { cause: error },
    );
  }
}
