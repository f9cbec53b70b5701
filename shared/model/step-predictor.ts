import type { ModelSpec } from './model-spec.js';
import type { StepInput } from './recurrent-model.js';
import type { TrainingBatch } from './training-batch.js';

/**
 * What prequential inference needs of a model: one batched step from the carried states. The
 * RecurrentModel is the real one; ConstantPredictor stands in when a benchmark measures the data
 * plane alone.
 */
export interface StepPredictor {
  readonly spec: ModelSpec;
  /** Floats of carried state per key. */
  readonly stateSize: number;
  readonly params: { readonly version: number };
  predictStep(input: StepInput): { outputs: Float32Array; state: Float32Array };
  /** Logits of every step of a batch: how a bidirectional model predicts whole segments. */
  forward?(batch: TrainingBatch): { outputs: Float32Array };
}
