import type { Prediction } from '../learner/prediction.js';
import { CodecError } from './codec-error.js';
import { rnnstream } from './generated/rnnstream.js';
import { checkInt64, int64ToNumber } from './int64.js';

const { Task } = rnnstream.v1.Prediction;
const TASKS: Record<Prediction['task'], rnnstream.v1.Prediction.Task> = {
  lm: Task.LM,
  tag: Task.TAG,
  classify: Task.CLASSIFY,
  forecast: Task.FORECAST,
};

/** Prediction protobuf bytes for `<app>.predictions` (shared/learner/prediction.ts, field for field). */
export function encodePrediction(p: Prediction): Uint8Array {
  const m: rnnstream.v1.Prediction.$Properties = {
    index: checkInt64(p.index, 'index', { unsigned: true }),
    key: p.key,
    task: TASKS[p.task],
    paramVersion: checkInt64(p.paramVersion, 'paramVersion', { unsigned: true }),
  };
  if (m.task === undefined)
    throw new RangeError(
      `task is ${JSON.stringify(p.task)}, not one of ${Object.keys(TASKS).join(', ')}`,
    );
  if (p.line !== undefined) m.line = checkInt64(p.line, 'line', { unsigned: true });
  if (p.eos !== undefined) m.eos = p.eos;
  if (p.predictedToken !== undefined) m.predictedToken = p.predictedToken;
  if (p.probability !== undefined) m.probability = p.probability;
  if (p.bits !== undefined) m.bits = p.bits;
  if (typeof p.label === 'string') m.labelText = p.label;
  else if (typeof p.label === 'number') m.labelId = checkInt64(p.label, 'label');
  if (p.confidence !== undefined) m.confidence = p.confidence;
  if (typeof p.actual === 'string') m.actualText = p.actual;
  else if (typeof p.actual === 'number') m.actualId = checkInt64(p.actual, 'actual');
  else if (p.actual !== undefined) m.actualVector = { values: [...p.actual] };
  if (p.forecast !== undefined) m.forecast = { values: [...p.forecast] };
  if (p.squaredError !== undefined) m.squaredError = p.squaredError;
  if (p.partition !== undefined) m.partition = p.partition;
  return rnnstream.v1.Prediction.encode(m).finish();
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
