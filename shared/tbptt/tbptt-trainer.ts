import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../engine/tf.js';
import { paddedBatchSize } from '../model/batch-buckets.js';
import type { LossAndGradientTensors, RecurrentModel } from '../model/recurrent-model.js';
import { sampleDropoutMasks } from '../model/dropout.js';
import type { Rng } from '../model/random.js';
import type { GradientSink } from './gradient-sink.js';
import type { KeySequence } from './key-sequence.js';
import { buildWindowBatch } from './window-batch.js';
import { DEFAULT_CHUNK_STEPS } from './window-schedule.js';

export interface TrainStepResult {
  readonly keys: number;
  readonly lossSum: number;
  readonly tokens: number;
  /** Steps of the longest window in the training step. */
  readonly steps: number;
}

/**
 * One TBPTT step over a batch of ready keys: recompute each key's window from its stored
 * window-start state with the current parameters (the start state is a constant input, so no
 * gradient flows past it), take the mean loss of the pending steps, back-propagate through
 * the window, and hand the gradient to the sink.
 *
 * Windows longer than `chunkSteps` (whole classify sequences) are batched by their number of
 * chunks, so that a short sequence is not padded to the length of a long one, and each group is
 * back-propagated chunk by chunk; the step's gradient is the mean over all keys' loss steps.
 * Whole sequences are laid out from column 0 and padded after their eos step to a bucketed
 * length (window-batch.ts), so their batches take the fused kernels and few distinct shapes.
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
    const kind = keys[0]?.schedule.kind;
    // Segments (bidirectional) are whole sequences whose padding is masked: see buildWindowBatch.
    const wholeSequences = kind === 'whole-sequence' || kind === 'segment';
    const paramVersion = this.model.params.version;
    const windows = keys.map((k) => k.window());
    const groups = this.groupsByChunks(windows);
    const parts: LossAndGradientTensors[] = [];
    let steps = 0;
    for (const group of groups) {
      const groupKeys = group.map((i) => keys[i]!);
      const dropoutMasks = sampleDropoutMasks({ spec, batchSize: group.length, rng: this.rng });
      const groupWindows = group.map((i) => windows[i]!);
      const batch = buildWindowBatch({
        spec,
        keys: groupKeys,
        windows: groupWindows,
        dropoutMasks,
        ...(wholeSequences
          ? {
              align: 'start',
              markPadding: kind === 'segment',
              steps: this.bucketedSteps(Math.max(...groupWindows.map((w) => w.length))),
            }
          : {}),
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
   * The length a whole-sequence batch is padded to, so that the shapes a long run meets stay few
   * (../model/batch-buckets.ts): whole chunks beyond one chunk, else the bucket ladder.
   */
  private bucketedSteps(longest: number): number {
    const c = this.chunkSteps;
    return longest > c ? Math.ceil(longest / c) * c : Math.min(c, paddedBatchSize(longest));
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
