import type { ModelSpec } from '../model/model-spec.js';
import { isClassificationTask } from '../model/model-spec.js';
import type { DropoutMasks, TrainingBatch } from '../model/training-batch.js';
import type { KeySequence } from './key-sequence.js';

/**
 * Lays the windows of several keys side by side as one TrainingBatch.
 *
 * `align: 'end'` (truncated windows): windows of different lengths are left-padded to the
 * longest, so every key's newest step is the last column and padded steps neither change the
 * state nor count in the loss (validMask 0).
 *
 * `align: 'start'` (whole sequences, whose only loss step is a window's newest): every window
 * starts at column 0 and is followed by `steps - length` padding steps that are computed like
 * real ones but carry no loss. They come after every loss step of their row, so they change
 * nothing that is differentiated, and the batch needs no validMask path: the fused kernels,
 * which refuse masked windows, run it. `steps` (≥ the longest window) lets the caller pick a
 * bucketed length.
 */
export function buildWindowBatch({
  spec,
  keys,
  windows = keys.map((k) => k.window()),
  dropoutMasks,
  align = 'end',
  steps: requestedSteps,
}: {
  spec: ModelSpec;
  keys: readonly KeySequence[];
  /** The keys' windows, when the caller has them already. */
  windows?: ReadonlyArray<ReturnType<KeySequence['window']>>;
  dropoutMasks?: DropoutMasks | undefined;
  align?: 'end' | 'start';
  /** Columns of the batch (default: the longest window). */
  steps?: number;
}): TrainingBatch {
  const batchSize = keys.length;
  const longest = Math.max(1, ...windows.map((w) => w.length));
  const steps = requestedSteps ?? longest;
  if (steps < longest)
    throw new RangeError(`a batch of ${steps} steps cannot hold a window of ${longest} steps`);
  const n = batchSize * steps;
  const f = spec.featureSize;
  const tokens = spec.inputKind === 'tokens' ? new Int32Array(n) : undefined;
  const features = spec.inputKind === 'features' ? new Float32Array(n * f) : undefined;
  const classTargets = isClassificationTask(spec.task) ? new Int32Array(n) : undefined;
  const regressionTargets = isClassificationTask(spec.task) ? undefined : new Float32Array(n * f);
  const lossMask = new Float32Array(n);
  const validMask = new Float32Array(n);
  if (align === 'start') validMask.fill(1);
  const stateSize = keys[0]?.state.length ?? 0;
  const initialState = new Float32Array(batchSize * stateSize);
  const into = { tokens, features, classTargets, regressionTargets };
  keys.forEach((key, b) => {
    const { length, lossSteps, startState } = windows[b]!;
    if (startState) initialState.set(startState, b * stateSize);
    const newest = align === 'end' ? steps - 1 : length - 1;
    for (let back = 0; back < length; back++) {
      const at = b * steps + (newest - back);
      const hasLoss = key.buffer.copyStepInto(back, at, into);
      validMask[at] = 1;
      if (back < lossSteps && hasLoss) lossMask[at] = 1;
    }
  });
  return {
    batchSize,
    steps,
    tokens,
    features,
    classTargets,
    regressionTargets,
    lossMask,
    validMask,
    initialState,
    dropoutMasks,
  };
}
