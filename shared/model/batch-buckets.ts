import type { TrainingBatch } from './training-batch.js';

/**
 * The batch size a call is padded to: the smallest of 1, 2, 3, 4, then four sizes per power of
 * two (5..8 by 1, 10..16 by 2, 20..32 by 4, 40..64 by 8, 80..128 by 16, …) that is ≥ `rows`.
 *
 * Why: with oneDNN (on by default in TensorFlow's CPU build) every new tensor shape gets its own
 * cached primitives, kept for the life of the process — about 1.2 MB per distinct batch size
 * for an LSTM 128 train + predict step, more for larger models. A learner whose batch is "the
 * keys that happen to be ready" meets hundreds of sizes and its memory creeps up for hours.
 * Padding to this ladder bounds the shapes to ~4 per doubling (32 up to 512 rows) and wastes
 * less than a quarter of the rows, about an eighth on average.
 */
export function paddedBatchSize(rows: number): number {
  if (!Number.isInteger(rows) || rows < 0)
    throw new RangeError(`batch size ${rows} is not a non-negative integer`);
  if (rows <= 4) return rows;
  const octave = 2 ** Math.floor(Math.log2(rows - 1)); // rows in (octave, 2·octave]
  const step = octave / 4;
  return Math.ceil(rows / step) * step;
}

/** `values` ([rows × width]) followed by zeros up to `paddedRows` rows (the same array if none). */
export function padRows<T extends Float32Array | Int32Array>(
  values: T,
  width: number,
  paddedRows: number,
): T {
  const length = paddedRows * width;
  if (values.length === length) return values;
  const out = new (values.constructor as new (n: number) => T)(length);
  out.set(values);
  return out;
}

/**
 * `values` ([rows × steps × width]) with `paddedSteps - steps` zero steps put before each row's
 * steps (left padding, as windows of different lengths already are).
 */
export function padStepsLeft<T extends Float32Array | Int32Array>(
  values: T,
  {
    rows,
    steps,
    width,
    paddedSteps,
  }: { rows: number; steps: number; width: number; paddedSteps: number },
): T {
  if (paddedSteps === steps) return values;
  const out = new (values.constructor as new (n: number) => T)(rows * paddedSteps * width);
  const shift = (paddedSteps - steps) * width;
  for (let b = 0; b < rows; b++)
    out.set(
      values.subarray(b * steps * width, (b + 1) * steps * width),
      b * paddedSteps * width + shift,
    );
  return out;
}

/**
 * The batch padded to `paddedRows` rows and `paddedSteps` steps:
 * - rows of zeros appended: zero inputs, zero start state, valid steps (so no masking path is
 *   taken) and no loss;
 * - steps of zeros put in front of every row, marked invalid (they carry the state unchanged) and
 *   without loss — only for a batch that is left-padded already, which takes the masked path
 *   anyway (an unpadded batch keeps its length and with it the fused kernels).
 * Either way they add exactly nothing to the loss or the gradients, whose `count` stays the batch's.
 */
export function padTrainingBatch(
  batch: TrainingBatch,
  {
    paddedRows,
    paddedSteps = batch.steps,
    stateSize,
    featureSize,
    outputSize,
  }: {
    paddedRows: number;
    paddedSteps?: number;
    stateSize: number;
    featureSize: number;
    outputSize: number;
  },
): TrainingBatch {
  if (paddedRows === batch.batchSize && paddedSteps === batch.steps) return batch;
  if (paddedRows < batch.batchSize || paddedSteps < batch.steps)
    throw new RangeError(
      `cannot pad a batch of ${batch.batchSize} rows × ${batch.steps} steps to ${paddedRows} × ${paddedSteps}`,
    );
  const rows = batch.batchSize;
  const steps = batch.steps;
  const t = paddedSteps;
  const stepsOf = <T extends Float32Array | Int32Array>(values: T, width = 1): T =>
    padStepsLeft(values, { rows, steps, width, paddedSteps });
  const validMask = padRows(stepsOf(batch.validMask), t, paddedRows);
  validMask.fill(1, rows * t);
  const masks = batch.dropoutMasks;
  return {
    batchSize: paddedRows,
    steps: t,
    tokens: batch.tokens && padRows(stepsOf(batch.tokens), t, paddedRows),
    features:
      batch.features && padRows(stepsOf(batch.features, featureSize), t * featureSize, paddedRows),
    classTargets: batch.classTargets && padRows(stepsOf(batch.classTargets), t, paddedRows),
    regressionTargets:
      batch.regressionTargets &&
      padRows(stepsOf(batch.regressionTargets, outputSize), t * outputSize, paddedRows),
    targetMask:
      batch.targetMask &&
      padRows(stepsOf(batch.targetMask, outputSize), t * outputSize, paddedRows),
    lossMask: padRows(stepsOf(batch.lossMask), t, paddedRows),
    validMask,
    initialState: padRows(batch.initialState, stateSize, paddedRows),
    dropoutMasks: masks && {
      input: masks.input.map((m) => m && padRows(m, m.length / rows, paddedRows)),
      recurrent: masks.recurrent.map((m) => m && padRows(m, m.length / rows, paddedRows)),
    },
  };
}
