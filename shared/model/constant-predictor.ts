import { isClassificationTask, type ModelSpec } from './model-spec.js';
import type { StepInput } from './recurrent-model.js';
import type { StepPredictor } from './step-predictor.js';

/**
 * A stand-in for the network that computes nothing: a uniform distribution (classification
 * tasks) or zeros (forecast), and the state carried unchanged. For measuring the data plane —
 * decoding, state bookkeeping, changelog, transactions — without the model's cost (`rnnstream
 * worker --stub-model`). Never learns.
 */
export class ConstantPredictor implements StepPredictor {
  readonly spec: ModelSpec;
  readonly stateSize: number;
  readonly params = { version: 0 };
  private readonly output: Float32Array;

  constructor({ spec, stateSize }: { spec: ModelSpec; stateSize: number }) {
    this.spec = spec;
    this.stateSize = stateSize;
    this.output = new Float32Array(spec.outputSize).fill(
      isClassificationTask(spec.task) ? 1 / spec.outputSize : 0,
    );
  }

  predictStep(input: StepInput): { outputs: Float32Array; state: Float32Array } {
    const outputs = new Float32Array(input.batchSize * this.output.length);
    for (let i = 0; i < input.batchSize; i++) outputs.set(this.output, i * this.output.length);
    return { outputs, state: input.state.slice() };
  }
}
