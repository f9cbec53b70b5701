/** How the learning rate changes with the number of updates applied. */
export interface LearningRateScheduleOptions {
  /** Peak (and, with decay 'none' and no warm-up, constant) learning rate. */
  readonly learningRate: number;
  /** Updates over which the rate ramps linearly from learningRate / warmupSteps up to learningRate (0: no warm-up). */
  readonly warmupSteps: number;
  /** After warm-up: keep the rate ('none'), or decay it to minLearningRate. */
  readonly decay: 'none' | 'linear' | 'cosine' | 'inverse-sqrt';
  /** linear / cosine: updates after warm-up until minLearningRate is reached (then held). */
  readonly decaySteps: number;
  /** linear / cosine: the floor; inverse-sqrt never goes below it either. */
  readonly minLearningRate: number;
}

/** The learning rate for the update that follows `step` already applied ones (step ≥ 0). */
export type LearningRateSchedule = (step: number) => number;

/**
 * Warm-up then decay, as in the Transformer (inverse-sqrt) and SGDR (cosine) papers:
 * with t = step + 1 and W = warmupSteps,
 *   t ≤ W:          lr · t / W
 *   'none':         lr
 *   'linear':       min + (lr − min) · (1 − p),  p = min(1, (t − W) / decaySteps)
 *   'cosine':       min + (lr − min) · ½ (1 + cos π p)
 *   'inverse-sqrt': max(min, lr · √(max(W, 1) / t))
 * The defaults of the configuration (W = 0, decay 'none') give the constant learningRate.
 */
export function createLearningRateSchedule({
  learningRate,
  warmupSteps,
  decay,
  decaySteps,
  minLearningRate,
}: LearningRateScheduleOptions): LearningRateSchedule {
  return (step) => {
    const t = step + 1;
    if (warmupSteps > 0 && t <= warmupSteps) return (learningRate * t) / warmupSteps;
    const p = Math.min(1, (t - warmupSteps) / decaySteps);
    switch (decay) {
      case 'none':
        return learningRate;
      case 'linear':
        return minLearningRate + (learningRate - minLearningRate) * (1 - p);
      case 'cosine':
        return (
          minLearningRate + (learningRate - minLearningRate) * 0.5 * (1 + Math.cos(Math.PI * p))
        );
      case 'inverse-sqrt':
        return Math.max(minLearningRate, learningRate * Math.sqrt(Math.max(warmupSteps, 1) / t));
    }
  };
}

/** A schedule from the `optimizer` section of the configuration. */
export function learningRateScheduleFromConfig(optimizer: {
  readonly learningRate: number;
  readonly schedule: Omit<LearningRateScheduleOptions, 'learningRate'>;
}): LearningRateSchedule {
  return createLearningRateSchedule({
    learningRate: optimizer.learningRate,
    ...optimizer.schedule,
  });
}
