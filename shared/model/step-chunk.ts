import type { TrainingBatch } from './training-batch.js';

/**
 * Steps [from, from + steps) of every row of `batch`, as a batch of its own: what a chunk of a
 * long window is computed from (RecurrentModel's chunked back-propagation). Its initialState is
 * the batch's; the caller sets the state the chunk really starts from. Dropout masks are per row
 * and the same at every step (variational dropout), so every chunk shares the batch's.
 */
export function stepChunk(
  batch: TrainingBatch,
  {
    from,
    steps,
    featureSize,
    outputSize,
  }: { from: number; steps: number; featureSize: number; outputSize: number },
): TrainingBatch {
  if (!(Number.isInteger(from) && Number.isInteger(steps) && from >= 0 && steps >= 1))
    throw new RangeError(`steps [${from}, ${from + steps}) are not a range of whole steps`);
  if (from + steps > batch.steps)
    throw new RangeError(
      `steps [${from}, ${from + steps}) are beyond the batch's ${batch.steps} steps`,
    );
  const rows = batch.batchSize;
  const columns = <T extends Float32Array | Int32Array>(values: T, width = 1): T => {
    const out = new (values.constructor as new (n: number) => T)(rows * steps * width);
    for (let b = 0; b < rows; b++) {
      const begin = (b * batch.steps + from) * width;
      out.set(values.subarray(begin, begin + steps * width), b * steps * width);
    }
    return out;
  };
  return {
    batchSize: rows,
    steps,
    tokens: batch.tokens && columns(batch.tokens),
    features: batch.features && columns(batch.features, featureSize),
    classTargets: batch.classTargets && columns(batch.classTargets),
    regressionTargets: batch.regressionTargets && columns(batch.regressionTargets, outputSize),
    targetMask: batch.targetMask && columns(batch.targetMask, outputSize),
    lossMask: columns(batch.lossMask),
    validMask: columns(batch.validMask),
    initialState: batch.initialState,
    dropoutMasks: batch.dropoutMasks,
  };
}
