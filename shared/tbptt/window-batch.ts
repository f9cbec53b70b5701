import type { ModelSpec } from '../model/model-spec.js';
import { horizonOf, isClassificationTask } from '../model/model-spec.js';
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
 *
 * Forecast targets arrive late: the target h steps ahead of step t arrives with the event h - 1
 * steps after it. A target value counts in the training step whose pending steps include its
 * arrival — so each is trained exactly once, in the first step after it is known — provided the
 * window still reaches back to its step (tbptt.k2 ≥ k1 + H - 1, a config rule).
 */
export function buildWindowBatch({
  spec,
  keys,
  windows = keys.map((k) => k.window()),
  dropoutMasks,
  align = 'end',
  steps: requestedSteps,
  markPadding = false,
}: {
  spec: ModelSpec;
  keys: readonly KeySequence[];
  /** The keys' windows, when the caller has them already. */
  windows?: ReadonlyArray<ReturnType<KeySequence['window']>>;
  dropoutMasks?: DropoutMasks | undefined;
  align?: 'end' | 'start';
  /** Columns of the batch (default: the longest window). */
  steps?: number;
  /**
   * align 'start': mark the steps after each window invalid (validMask 0) instead of computing
   * them like real ones — a bidirectional model's backward direction must start at the window's end.
   */
  markPadding?: boolean;
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
  const regression = !isClassificationTask(spec.task);
  const horizon = horizonOf(spec);
  const width = horizon * f;
  const regressionTargets = regression ? new Float32Array(n * width) : undefined;
  const targetMask = regression ? new Float32Array(n * width) : undefined;
  const lossMask = new Float32Array(n);
  const validMask = new Float32Array(n);
  if (align === 'start' && !markPadding) validMask.fill(1);
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
      if (!hasLoss) continue;
      if (!targetMask) {
        if (back < lossSteps) lossMask[at] = 1;
        continue;
      }
      // Horizon step h of this step arrived h - 1 steps later, i.e. `back - (h - 1)` steps back.
      const arrived = key.buffer.targetMaskOf(back);
      for (let h = 1; h <= horizon && back - (h - 1) >= 0; h++) {
        if (back - (h - 1) >= lossSteps) continue;
        let counts = false;
        for (let j = (h - 1) * f; j < h * f; j++)
          if (arrived[j] === 1) {
            targetMask[at * width + j] = 1;
            counts = true;
          }
        if (counts) lossMask[at]! += 1;
      }
    }
  });
  return {
    batchSize,
    steps,
    tokens,
    features,
    classTargets,
    regressionTargets,
    targetMask,
    lossMask,
    validMask,
    initialState,
    dropoutMasks,
  };
}
