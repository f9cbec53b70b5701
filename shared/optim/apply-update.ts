import type { Tensor } from '@tensorflow/tfjs';

import type { ParameterSet } from '../model/parameter-set.js';
import { averageGradients, type GradientContribution } from './average-gradients.js';
import { clipByGlobalNorm } from './clip-by-global-norm.js';
import type { Optimizer } from './optimizer.js';

export interface AppliedUpdate {
  /** Tokens of all contributions (the average's total weight). */
  readonly tokens: number;
  /** Global norm of the averaged gradient before clipping. */
  readonly preClipNorm: number;
  /** Factor the average was scaled by (1 = not clipped). */
  readonly clipScale: number;
}

/**
 * The update rule of every parameter service, on the tensor backend (embedded runs; the
 * paramserver runs the same rule on host arrays, host/apply-host-update.ts): token-weighted
 * average of the contributions →
 * global norm of the average → clip to `clipGlobalNorm` (0 disables) → one optimizer step with
 * `learningRate`. The contributions' tensors stay the caller's (not disposed); everything made
 * here is freed. Contributions are averaged in the order given: callers that need bit-exact
 * replays pass them in a fixed order.
 */
export function applyUpdate({
  params,
  optimizer,
  contributions,
  clipGlobalNorm,
  learningRate,
}: {
  params: ParameterSet;
  optimizer: Optimizer;
  contributions: readonly GradientContribution[];
  clipGlobalNorm: number;
  learningRate: number;
}): AppliedUpdate {
  const averaged = averageGradients(contributions);
  const { gradients, norm, scale } = clipByGlobalNorm(averaged.gradients, clipGlobalNorm);
  try {
    optimizer.apply(params, gradients, { learningRate });
  } finally {
    disposeAll(gradients);
    if (scale !== 1) disposeAll(averaged.gradients); // else the same tensors, freed just above
  }
  return { tokens: averaged.tokens, preClipNorm: norm, clipScale: scale };
}

function disposeAll(tensors: ReadonlyMap<string, Tensor>): void {
  for (const t of tensors.values()) t.dispose();
}
