import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../engine/tf.js';
import type { LossAndGradientTensors, RecurrentModel } from '../model/recurrent-model.js';
import { sampleDropoutMasks } from '../model/dropout.js';
import type { Rng } from '../model/random.js';
import type { GradientSink } from './gradient-sink.js';
import type { KeySequence } from './key-sequence.js';
import { buildWindowBatch } from './window-batch.js';

export interface TrainStepResult {
  readonly keys: number;
  readonly lossSum: number;
  readonly tokens: number;
  /** Steps of the longest window in the training step. */
  readonly steps: number;
}

/**
 * Steps one chunk of a long window back-propagates through at a time (RecurrentModel's chunked
 * back-propagation): tensor memory stays that of a 256-step window (a few tens of MB for a batch
 * of 64 keys of an LSTM 128) however long a whole classify sequence is.
 */
export const DEFAULT_CHUNK_STEPS = 256;

/**
 * One TBPTT step over a batch of ready keys: recompute each key's window from its stored
 * window-start state with the current parameters (the start state is a constant input, so no
 * gradient flows past it), take the mean loss of the pending steps, back-propagate through
 * the window, and hand the gradient to the sink.
 *
 * Windows longer than `chunkSteps` (whole classify sequences) are batched by their number of
 * chunks, so that a short sequence is not padded to the length of a long one, and each group is
 * back-propagated chunk by chunk; the step's gradient is the mean over all keys' loss steps.
 */
export class TbpttTrainer {
  private readonly model: RecurrentModel;
  private readonly sink: GradientSink;
  private readonly rng: Rng;
  private readonly workerId: string;
  private readonly chunkSteps: number;
  private stepCounter = 0;

  constructor({
    model,
    sink,
    rng,
    workerId,
    chunkSteps = DEFAULT_CHUNK_STEPS,
  }: {
    model: RecurrentModel;
    sink: GradientSink;
    rng: Rng;
    workerId: string;
    chunkSteps?: number;
  }) {
    if (!(Number.isSafeInteger(chunkSteps) && chunkSteps >= 1))
      throw new RangeError(`chunkSteps is ${chunkSteps}, not a positive integer`);
    this.model = model;
    this.sink = sink;
    this.rng = rng;
    this.workerId = workerId;
    this.chunkSteps = chunkSteps;
  }

  get steps(): number {
    return this.stepCounter;
  }

  async train(keys: readonly KeySequence[]): Promise<TrainStepResult> {
    const { spec } = this.model;
    const paramVersion = this.model.params.version;
    const windows = keys.map((k) => k.window());
    const groups = this.groupsByChunks(windows);
    const parts: LossAndGradientTensors[] = [];
    let steps = 0;
    for (const group of groups) {
      const groupKeys = group.map((i) => keys[i]!);
      const dropoutMasks = sampleDropoutMasks({ spec, batchSize: group.length, rng: this.rng });
      const batch = buildWindowBatch({
        spec,
        keys: groupKeys,
        windows: group.map((i) => windows[i]!),
        dropoutMasks,
      });
      steps = Math.max(steps, batch.steps);
      parts.push(this.model.lossAndGradientTensors(batch, { chunkSteps: this.chunkSteps }));
    }
    const { lossSum, count, gradients } = combine(parts);
    for (const key of keys) key.markTrained();
    this.stepCounter++;
    if (count > 0) {
      await this.sink.submit({
        workerId: this.workerId,
        step: this.stepCounter,
        paramVersion,
        tokens: count,
        lossSum,
        gradients,
      });
    } else {
      for (const g of gradients.values()) g.dispose();
    }
    return { keys: keys.length, lossSum, tokens: count, steps };
  }

  /**
   * Indexes of the windows grouped by how many chunks they take (all windows of at most
   * chunkSteps steps in one group, as one batch), groups in order of their first window.
   */
  private groupsByChunks(windows: ReadonlyArray<{ length: number }>): number[][] {
    const groups = new Map<number, number[]>();
    windows.forEach(({ length }, i) => {
      const chunks = Math.max(1, Math.ceil(length / this.chunkSteps));
      const group = groups.get(chunks);
      if (group) group.push(i);
      else groups.set(chunks, [i]);
    });
    return [...groups.values()];
  }
}

/**
 * The gradient of the mean loss over all parts' loss steps: Σ (count_p / count) · gradient_p, each
 * part's gradient being that of its own mean. One part is returned as it is. Takes ownership of
 * the parts' tensors.
 */
function combine(parts: readonly LossAndGradientTensors[]): LossAndGradientTensors {
  if (parts.length === 1) return parts[0]!;
  const count = parts.reduce((n, p) => n + p.count, 0);
  const lossSum = parts.reduce((n, p) => n + p.lossSum, 0);
  const gradients = new Map<string, Tensor>();
  for (const name of parts[0]!.gradients.keys()) {
    gradients.set(
      name,
      tf.tidy(() =>
        parts
          .map((p) => tf.mul(p.gradients.get(name)!, count === 0 ? 0 : p.count / count))
          .reduce((a, b) => tf.add(a, b)),
      ),
    );
  }
  for (const p of parts) for (const g of p.gradients.values()) g.dispose();
  return { lossSum, count, gradients };
}
