import { tf } from '../engine/tf.js';
import type {
  Rank,
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Variable,
} from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { cells, type CellDefinition, type CellOptions, type CellParams } from './cells/index.js';
import { convFrontEnd } from './conv/conv-front-end.js';
import { recurrentInputSize } from './conv/conv-spec.js';
import { embeddingRows } from './embedding.js';
import { initialParameters } from './initial-parameters.js';
import {
  isClassificationTask,
  stateSize,
  stateSizePerLayer,
  type ModelSpec,
} from './model-spec.js';
import {
  kernelChoiceFromFlags,
  layerKernel,
  type KernelChoice,
  type LayerKernel,
} from './layer-kernels.js';
import { bidirectionalFeatures } from './bidirectional/bidirectional-features.js';
import { ParameterSet } from './parameter-set.js';
import { paddedBatchSize, padRows, padTrainingBatch } from './batch-buckets.js';
import { stepChunk } from './step-chunk.js';
import type { TrainingBatch } from './training-batch.js';

export { initialParameters } from './initial-parameters.js';

export interface LossAndGradientTensors {
  /** Sum of the per-step losses that count (nats for classification). */
  readonly lossSum: number;
  /** How many steps count (sum of the loss mask). */
  readonly count: number;
  /** Gradient of the mean loss, by parameter name; the caller owns (and disposes) them. */
  readonly gradients: Map<string, Tensor>;
}

export interface StepInput {
  readonly batchSize: number;
  /** [B] input token ids. */
  readonly tokens?: Int32Array;
  /** [B*F] standardised input features. */
  readonly features?: Float32Array;
  /** [B*S] current states. */
  readonly state: Float32Array;
}

/**
 * A stacked recurrent network with an input layer and a task head (docs/model-math.md).
 * Window computations take a TrainingBatch of plain arrays and keep every intermediate tensor
 * inside tf.tidy, so nothing leaks between steps.
 */
export class RecurrentModel {
  readonly spec: ModelSpec;
  readonly params: ParameterSet;
  /** The code that runs each layer window (./layer-kernels.ts), fixed at creation. */
  readonly kernels: KernelChoice;
  private readonly cell: CellDefinition;
  private readonly cellOptions: CellOptions[];
  private readonly runLayer: LayerKernel;

  private constructor(spec: ModelSpec, params: ParameterSet, kernels: KernelChoice) {
    this.spec = spec;
    this.params = params;
    this.kernels = kernels;
    this.runLayer = layerKernel(kernels);
    this.cell = cells[spec.cell];
    this.cellOptions = Array.from({ length: spec.layers }, (_, layer) => ({
      inputSize: layer === 0 ? recurrentInputSize(spec) : spec.hidden,
      hidden: spec.hidden,
      peepholes: spec.peepholes,
      coupledGates: spec.coupledGates,
    }));
  }

  /**
   * New model with seeded initial parameters (same seed, same values, on every backend).
   * `kernels` defaults to what RNNSTREAM_FUSED / RNNSTREAM_WINDOW ask for.
   */
  static create({
    spec,
    seed,
    kernels = kernelChoiceFromFlags(),
  }: {
    spec: ModelSpec;
    seed: number;
    kernels?: KernelChoice;
  }): RecurrentModel {
    return new RecurrentModel(spec, new ParameterSet(initialParameters(spec, seed)), kernels);
  }

  /**
   * This model's parameters (shared, not copied) run through other kernels: to compare paths on
   * the same values. Dispose the original only; the view dies with it.
   */
  withKernels(kernels: KernelChoice): RecurrentModel {
    return new RecurrentModel(this.spec, this.params, kernels);
  }

  get stateSize(): number {
    return stateSize(this.spec);
  }

  /** Forward only: the mean loss of the batch. */
  loss(batch: TrainingBatch): number {
    const count = sumOf(batch.lossMask);
    if (count === 0) return 0;
    return (download(tf.tidy(() => this.lossSumTensor(batch)))[0] ?? 0) / count;
  }

  /**
   * Gradient of the mean loss w.r.t. every parameter, as tensors the caller must dispose. A batch
   * longer than `chunkSteps` steps is back-propagated in chunks of that many steps (see
   * chunkedLossAndGradients): the same gradient, with the tensors of one chunk alive at a time.
   */
  lossAndGradientTensors(
    unpadded: TrainingBatch,
    { chunkSteps = Number.POSITIVE_INFINITY }: { chunkSteps?: number } = {},
  ): LossAndGradientTensors {
    const count = sumOf(unpadded.lossMask);
    const names = this.params.names();
    if (count === 0) {
      const gradients = new Map<string, Tensor>(
        names.map((n) => [n, tf.zerosLike(this.params.get(n))]),
      );
      return { lossSum: 0, count, gradients };
    }
    // A bidirectional segment is back-propagated whole (its backward direction starts at its end);
    // task.maxSegmentSteps bounds it instead.
    const chunked = !this.spec.bidirectional && unpadded.steps > chunkSteps;
    // Rows (and, for a left-padded batch, steps) of zeros without loss up to bucketed sizes
    // (batch-buckets.ts): the shapes a long run meets stay few. A chunked batch is padded to whole
    // chunks, so every chunk of every batch has one of the bucketed row counts × chunkSteps.
    const leftPadded = unpadded.validMask.some((v) => v === 0);
    const batch = padTrainingBatch(unpadded, {
      paddedRows: paddedBatchSize(unpadded.batchSize),
      paddedSteps: chunked
        ? Math.ceil(unpadded.steps / chunkSteps) * chunkSteps
        : leftPadded
          ? paddedBatchSize(unpadded.steps)
          : unpadded.steps,
      stateSize: this.stateSize,
      featureSize: this.spec.featureSize,
      outputSize: this.spec.outputSize,
    });
    if (chunked) return this.chunkedLossAndGradients(batch, count, chunkSteps);
    const variables = this.params.variableList();
    const { value, grads } = tf.variableGrads(
      () => tf.div(this.lossSumTensor(batch), count) as Scalar,
      variables,
    );
    const lossSum = (value.dataSync()[0] ?? 0) * count;
    value.dispose();
    const gradients = new Map<string, Tensor>();
    names.forEach((name, i) => {
      const g = grads[variables[i]!.name];
      gradients.set(name, g ?? tf.zerosLike(variables[i]!));
    });
    return { lossSum, count, gradients };
  }

  /**
   * Back-propagation through a long batch in chunks of `chunkSteps` steps, with recomputation
   * (gradient checkpointing): a forward pass without a tape keeps only the state at every chunk
   * start; then, last chunk first, each chunk is recomputed from its start state with a tape, and
   * its loss plus ⟨end state, g⟩ — g the gradient of the whole loss w.r.t. the chunk's end state,
   * handed back by the chunk after it — is differentiated w.r.t. the parameters and its start
   * state. The sum over chunks is exactly the gradient of the whole batch's mean loss, for the
   * memory of one chunk and about one more forward pass. `batch.steps` is a multiple of chunkSteps.
   */
  private chunkedLossAndGradients(
    batch: TrainingBatch,
    count: number,
    chunkSteps: number,
  ): LossAndGradientTensors {
    const { batchSize } = batch;
    const shape = { featureSize: this.spec.featureSize, outputSize: this.spec.outputSize };
    const chunks = Array.from({ length: batch.steps / chunkSteps }, (_, j) =>
      stepChunk(batch, { from: j * chunkSteps, steps: chunkSteps, ...shape }),
    );
    let lossSum = 0;
    const starts: Float32Array[] = [batch.initialState];
    chunks.forEach((chunk, j) => {
      const [loss, end] = tf.tidy(() => {
        const { outputs, finalState } = this.forwardTensors({ ...chunk, initialState: starts[j]! });
        return [this.lossSumOf(outputs, chunk), finalState];
      });
      lossSum += download(loss)[0] ?? 0;
      if (j + 1 < chunks.length) starts.push(download(end));
      else end.dispose();
    });

    const variables = this.params.variableList();
    const sums: Array<Tensor | undefined> = variables.map(() => undefined);
    let endGradient: Tensor2D | undefined;
    for (let j = chunks.length - 1; j >= 0; j--) {
      const chunk = { ...chunks[j]!, initialState: starts[j]! };
      // The first chunk starts from the window's start state, a constant: no gradient needed.
      const start = j > 0 ? stateVariable(starts[j]!, batchSize, this.stateSize) : undefined;
      const carried = endGradient;
      const { value, grads } = tf.variableGrads(
        () => {
          const { outputs, finalState } = this.forwardTensors(chunk, start);
          const loss = tf.div(this.lossSumOf(outputs, chunk), count);
          return (carried ? tf.add(loss, tf.sum(tf.mul(finalState, carried))) : loss) as Scalar;
        },
        start ? [...variables, start] : variables,
      );
      value.dispose();
      carried?.dispose();
      variables.forEach((variable, i) => {
        const g = grads[variable.name] ?? tf.zerosLike(variable);
        const sum = sums[i];
        sums[i] = sum ? tf.add(sum, g) : g;
        if (sum) {
          sum.dispose();
          g.dispose();
        }
      });
      endGradient = start
        ? ((grads[start.name] as Tensor2D | undefined) ?? tf.zerosLike(start))
        : undefined;
      start?.dispose();
    }
    const gradients = new Map<string, Tensor>();
    this.params.names().forEach((name, i) => gradients.set(name, sums[i]!));
    return { lossSum, count, gradients };
  }

  /** Same as lossAndGradientTensors, downloaded into arrays (tests, reference checks). */
  lossAndGradients(batch: TrainingBatch): {
    loss: number;
    lossSum: number;
    count: number;
    gradients: Map<string, Float32Array>;
  } {
    const { lossSum, count, gradients } = this.lossAndGradientTensors(batch);
    const arrays = new Map<string, Float32Array>();
    for (const [name, g] of gradients) {
      arrays.set(name, g.dataSync() as Float32Array);
      g.dispose();
    }
    return { loss: count === 0 ? 0 : lossSum / count, lossSum, count, gradients: arrays };
  }

  /** Forward only: head outputs for every step [B*T*O] (logits or standardised values) and final state [B*S]. */
  forward(batch: TrainingBatch): { outputs: Float32Array; finalState: Float32Array } {
    const { outputs, finalState } = tf.tidy(() => this.forwardTensors(batch));
    return { outputs: download(outputs), finalState: download(finalState) };
  }

  /**
   * One inference step for B keys at once (no dropout): returns the head's prediction per key —
   * probabilities for classification tasks, standardised values for forecast — and new states.
   */
  predictStep(input: StepInput): { outputs: Float32Array; state: Float32Array } {
    this.refuseStepsIfBidirectional('predictStep');
    const rows = input.batchSize;
    // Zero rows up to a bucketed size (batch-buckets.ts), cut off again after the download.
    const batchSize = paddedBatchSize(rows);
    // Download outside tidy: tidy scans what its function returns, element by element for arrays.
    const { outputs, finalState } = tf.tidy(() => {
      const state = padRows(input.state, this.stateSize, batchSize);
      const { inputs, nextContext } = this.layerInputs({
        batchSize,
        steps: 1,
        tokens: input.tokens && padRows(input.tokens, 1, batchSize),
        features: input.features && padRows(input.features, this.spec.featureSize, batchSize),
        initialState: state,
      });
      const initial = tf.tensor2d(state, [batchSize, this.stateSize]);
      const { top, finalState } = this.runLayers({ inputs, initial, batchSize });
      const logits = this.headOutputs(tf.reshape(top, [batchSize, this.spec.hidden]));
      return {
        outputs: isClassificationTask(this.spec.task) ? tf.softmax(logits) : logits,
        finalState: withContext(finalState, nextContext),
      };
    });
    return {
      outputs: download(outputs).subarray(0, rows * this.spec.outputSize),
      state: download(finalState).subarray(0, rows * this.stateSize),
    };
  }

  /**
   * The head's prediction at the given states, without stepping: what predictStep returned for
   * the step that produced each state (probabilities for classification tasks, standardised
   * values for forecast) — e.g. a tag/classify key's distribution after its last event. Every
   * cell's layer output is h, the first part of the top layer's state, so the state is enough.
   */
  outputsAt({ batchSize: rows, state }: { batchSize: number; state: Float32Array }): Float32Array {
    this.refuseStepsIfBidirectional('outputsAt');
    if (state.length !== rows * this.stateSize) {
      throw new ShapeError(
        `outputsAt got ${state.length} state values for ${rows} keys; expected ${rows * this.stateSize} (state size ${this.stateSize}) (fix: pass the keys' states one after another)`,
      );
    }
    const batchSize = paddedBatchSize(rows);
    const outputs = tf.tidy(() => {
      const states = tf.tensor2d(padRows(state, this.stateSize, batchSize), [
        batchSize,
        this.stateSize,
      ]);
      const top = tf.slice(
        states,
        [0, (this.spec.layers - 1) * stateSizePerLayer(this.spec)],
        [batchSize, this.spec.hidden],
      );
      const logits = this.headOutputs(top);
      return isClassificationTask(this.spec.task) ? tf.softmax(logits) : logits;
    });
    return download(outputs).subarray(0, rows * this.spec.outputSize);
  }

  dispose(): void {
    this.params.dispose();
  }

  /** A bidirectional model predicts whole segments (forward()), never one step from a state. */
  private refuseStepsIfBidirectional(method: string): void {
    if (this.spec.bidirectional)
      throw new ShapeError(
        `${method} steps a carried state, but a bidirectional model has none: it predicts a whole segment at once (fix: call forward() on the segment's batch)`,
      );
  }

  /** Sum over the batch of lossMask · per-step loss, as a scalar tensor (inside a tidy/grad). */
  private lossSumTensor(batch: TrainingBatch): Scalar {
    return this.lossSumOf(this.forwardTensors(batch).outputs, batch);
  }

  /** Sum of lossMask · per-step loss of the head's `outputs` [B*T, O] for `batch`'s targets. */
  private lossSumOf(outputs: Tensor2D, batch: TrainingBatch): Scalar {
    const n = batch.batchSize * batch.steps;
    const mask = tf.tensor1d(batch.lossMask);
    let perStep: Tensor1D;
    if (isClassificationTask(this.spec.task)) {
      if (!batch.classTargets)
        throw new ShapeError(`task '${this.spec.task}' needs classTargets in the training batch`);
      const targets = tf.oneHot(tf.tensor1d(batch.classTargets, 'int32'), this.spec.outputSize);
      perStep = tf.neg(tf.sum(tf.mul(tf.logSoftmax(outputs), targets), 1)) as Tensor1D;
    } else {
      if (!batch.regressionTargets)
        throw new ShapeError(`task 'forecast' needs regressionTargets in the training batch`);
      const targets = tf.tensor2d(batch.regressionTargets, [n, this.spec.outputSize]);
      const squares = tf.square(tf.sub(outputs, targets));
      if (batch.targetMask) {
        // Each target value that counts weighs 1/F: a horizon step with all F values is one
        // "token" of `count` (lossMask holds the horizon steps per step), a missing value adds 0.
        const weights = tf.tensor2d(batch.targetMask, [n, this.spec.outputSize]);
        return tf.div(tf.sum(tf.mul(squares, weights)), this.spec.featureSize) as Scalar;
      }
      perStep = tf.mean(squares, 1) as Tensor1D;
    }
    return tf.sum(tf.mul(perStep, mask));
  }

  /** `initial` overrides batch.initialState with a tensor (a chunk's start state to differentiate). */
  private forwardTensors(
    batch: TrainingBatch,
    initial: Tensor2D = tf.tensor2d(batch.initialState, [batch.batchSize, this.stateSize]),
  ): { outputs: Tensor2D; finalState: Tensor2D } {
    const { batchSize, steps } = batch;
    const { inputs, nextContext } = this.layerInputs(batch);
    if (this.spec.bidirectional) {
      const features = bidirectionalFeatures({
        spec: this.spec,
        cell: this.cell,
        params: this.params,
        inputs,
        valid: batch.validMask,
        dropoutMasks: batch.dropoutMasks,
        runLayer: this.runLayer,
      });
      const width = 2 * this.spec.hidden;
      const outputs = this.headOutputs(tf.reshape(features, [batchSize * steps, width]));
      return { outputs, finalState: tf.zeros([batchSize, 0]) };
    }
    const padded = batch.validMask.some((v) => v === 0);
    const valid = padded
      ? (tf.unstack(tf.tensor3d(batch.validMask, [batchSize, steps, 1]), 1) as Tensor2D[])
      : undefined;
    const { top, finalState } = this.runLayers({ inputs, initial, batchSize, valid, batch });
    const outputs = this.headOutputs(tf.reshape(top, [batchSize * steps, this.spec.hidden]));
    return { outputs, finalState: withContext(finalState, nextContext) };
  }

  /**
   * [B, T, d] inputs of the first recurrent layer: the input layer's rows, or with a conv front
   * end its outputs over the context in the start state and the steps (./conv), and the context
   * the final state carries on. The context is read from the plain start state: it holds raw
   * inputs, through which no gradient flows back (a chunk's differentiated start included).
   */
  private layerInputs(rows: {
    batchSize: number;
    steps: number;
    tokens?: Int32Array | undefined;
    features?: Float32Array | undefined;
    validMask?: Float32Array | undefined;
    initialState: Float32Array;
  }): { inputs: Tensor3D; nextContext?: Tensor2D | undefined } {
    if (!this.spec.conv) return { inputs: this.embedInputs(rows) };
    return convFrontEnd({
      spec: this.spec,
      params: this.params,
      embed: (r) => this.embedInputs(r),
      ...rows,
    });
  }

  /** [B, T, E] inputs of layer 0: embedding rows, or the dense projection of features. */
  private embedInputs({
    batchSize,
    steps,
    tokens,
    features,
  }: {
    batchSize: number;
    steps: number;
    tokens?: Int32Array | undefined;
    features?: Float32Array | undefined;
  }): Tensor3D {
    const { spec } = this;
    if (spec.inputKind === 'tokens') {
      if (!tokens) throw new ShapeError('a tokens model needs token ids as input');
      if (tokens.length !== batchSize * steps)
        throw new ShapeError(
          `${tokens.length} token ids for ${batchSize} keys × ${steps} steps (expected ${batchSize * steps})`,
        );
      if (tf.getBackend() === 'tensorflow') {
        const ids = tf.tensor2d(tokens, [batchSize, steps], 'int32');
        return tf.gather(this.params.get('embedding'), ids) as Tensor3D;
      }
      // gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks (and which is
      // slow on cpu): the same rows with a gradient summed in JavaScript (./embedding.ts).
      const rows = embeddingRows(this.params.get('embedding') as Tensor2D, tokens);
      return tf.reshape(rows, [batchSize, steps, spec.embedding]);
    }
    if (!features) throw new ShapeError('a features model needs feature vectors as input');
    const x = tf.tensor2d(features, [batchSize * steps, spec.featureSize]);
    const projected = tf.add(
      tf.matMul(x, this.params.get('input/kernel') as Tensor2D),
      this.params.get('input/bias'),
    );
    return tf.reshape(projected, [batchSize, steps, spec.embedding]);
  }

  private runLayers({
    inputs,
    initial,
    batchSize,
    valid,
    batch,
  }: {
    inputs: Tensor3D;
    initial: Tensor2D;
    batchSize: number;
    valid?: Tensor2D[] | undefined;
    batch?: TrainingBatch;
  }): {
    top: Tensor3D;
    finalState: Tensor2D;
  } {
    const { spec } = this;
    const perLayer = stateSizePerLayer(spec);
    const finals: Tensor2D[] = [];
    let x = inputs;
    for (let layer = 0; layer < spec.layers; layer++) {
      const layerState = tf.slice(initial, [0, layer * perLayer], [batchSize, perLayer]);
      const initialParts =
        this.cell.stateParts === 1
          ? [layerState]
          : (tf.split(layerState, this.cell.stateParts, 1) as Tensor2D[]);
      const options = this.cellOptions[layer]!;
      const inputMask = batch?.dropoutMasks?.input[layer];
      const recurrentMask = batch?.dropoutMasks?.recurrent[layer];
      const { outputs, final } = this.runLayer({
        cell: this.cell,
        params: this.layerParams(layer),
        options,
        inputs: x,
        initial: initialParts,
        valid,
        inputMask: inputMask ? tf.tensor2d(inputMask, [batchSize, options.inputSize]) : undefined,
        recurrentMask: recurrentMask
          ? tf.tensor2d(recurrentMask, [batchSize, spec.hidden])
          : undefined,
      });
      finals.push(...final);
      x = outputs;
    }
    return {
      top: x,
      finalState: finals.length === 1 ? finals[0]! : (tf.concat(finals, 1) as Tensor2D),
    };
  }

  private headOutputs(top: Tensor2D): Tensor2D {
    return tf.add(
      tf.matMul(top, this.params.get('head/W') as Tensor2D),
      this.params.get('head/b'),
    ) as Tensor2D;
  }

  private layerParams(layer: number): CellParams {
    const prefix = `layer${layer}/`;
    const out: Record<string, Tensor2D | Tensor1D> = {};
    for (const name of this.params.names()) {
      if (name.startsWith(prefix))
        out[name.slice(prefix.length)] = this.params.get(name) as Tensor2D | Tensor1D;
    }
    return out;
  }
}

/** The recurrent layers' final state followed by the conv context, when there is one. */
function withContext(recurrent: Tensor2D, context: Tensor2D | undefined): Tensor2D {
  return context ? (tf.concat([recurrent, context], 1) as Tensor2D) : recurrent;
}

/** Copies a tensor's values to JS and frees the tensor. */
function download(t: Tensor): Float32Array {
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

/** A trainable variable holding `state` ([rows × stateSize]): a start state to differentiate. */
function stateVariable(state: Float32Array, rows: number, stateSize: number): Variable<Rank.R2> {
  const value = tf.tensor2d(state, [rows, stateSize]);
  const variable = tf.variable(value, true);
  value.dispose();
  return variable;
}

function sumOf(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}
