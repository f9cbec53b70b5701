import type { Tensor } from '@tensorflow/tfjs';
import type { ParameterSet } from '../model/parameter-set.js';

/**
 * An optimizer on the tensor backend (the in-process LocalParameterService of embedded runs)
 * whose whole state (step count and per-parameter slots) can be read out and put back. The
 * paramserver service uses its host-memory counterpart, host/host-optimizer.ts.
 */
export interface Optimizer {
  readonly type: 'adam' | 'sgd';
  /** Number of updates applied so far. */
  readonly step: number;
  /** Applies one update from gradients (already averaged and clipped). Does not dispose them. */
  apply(
    params: ParameterSet,
    gradients: ReadonlyMap<string, Tensor>,
    { learningRate }: { learningRate: number },
  ): void;
  /** Slot values by `<slot>:<parameter name>`, plus the step, for checkpoints. */
  saveState(): { step: number; slots: Map<string, Float32Array> };
  restoreState(
    state: { step: number; slots: ReadonlyMap<string, Float32Array> },
    params: ParameterSet,
  ): void;
  dispose(): void;
}
