/**
 * The encoder–decoder model (docs/design.md, "Sequence to sequence"): separate encoder and
 * decoder parameters, the decoder started from the encoder's final state (through a learned
 * bridge when sizes differ), optional additive attention, trained by teacher forcing — the
 * cross entropy of every target token and of the end-of-target, given the true previous tokens.
 */
import { tf } from '../../engine/tf.js';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import { ShapeError } from '../../errors/index.js';
import { cells, type CellDefinition } from '../cells/index.js';
import { paddedBatchSize, padRows } from '../batch-buckets.js';
import { ParameterSet } from '../parameter-set.js';
import { attentionKeys, maskBias } from './additive-attention.js';
import { decoderStep, decoderWeights, type AttentionMemory } from './decoder-step.js';
import { bridgeState, encodeSourceTensors, flattenState, unflattenState } from './encoder.js';
import { sourceBatch, type PairBatch } from './pair-batch.js';
import {
  boundaryId,
  decoderStateSize,
  seq2seqInitialParameters,
  type Seq2seqSpec,
} from './seq2seq-spec.js';
import { lookupRows } from './stack-params.js';

export interface Seq2seqLossAndGradients {
  /** Sum over target steps (tokens and ends) of −ln p, nats. */
  readonly lossSum: number;
  /** Number of target steps that count. */
  readonly count: number;
  /** Gradient of lossSum / count by parameter name; the caller disposes them. */
  readonly gradients: Map<string, Tensor>;
}

export class Seq2seqModel {
  readonly spec: Seq2seqSpec;
  readonly params: ParameterSet;
  private readonly cell: CellDefinition;

  constructor(spec: Seq2seqSpec, params: ParameterSet) {
    this.spec = spec;
    this.params = params;
    this.cell = cells[spec.cell];
  }

  static create({ spec, seed }: { spec: Seq2seqSpec; seed: number }): Seq2seqModel {
    return new Seq2seqModel(spec, new ParameterSet(seq2seqInitialParameters(spec, seed)));
  }

  /** Length of one decoder state (what a beam carries, besides its source index). */
  get decoderStateSize(): number {
    return decoderStateSize(this.spec);
  }

  /** −ln p(target step | source, true previous tokens) of every step [B*Tt], 0 where masked. */
  stepLosses(batch: PairBatch): Float32Array {
    const losses = tf.tidy(() => tf.mul(this.stepLossTensor(batch), batch.targetMask));
    const out = losses.dataSync() as Float32Array;
    losses.dispose();
    return out;
  }

  lossAndGradientTensors(batch: PairBatch): Seq2seqLossAndGradients {
    const count = batch.targetMask.reduce((a, b) => a + b, 0);
    const variables = this.params.variableList();
    const { value, grads } = tf.variableGrads(
      () => tf.div(tf.sum(tf.mul(this.stepLossTensor(batch), batch.targetMask)), count) as Scalar,
      variables,
    );
    const lossSum = (value.dataSync()[0] ?? 0) * count;
    value.dispose();
    const gradients = new Map<string, Tensor>();
    this.params.names().forEach((name, i) => {
      gradients.set(name, grads[variables[i]!.name] ?? tf.zerosLike(variables[i]!));
    });
    return { lossSum, count, gradients };
  }

  /** lossAndGradientTensors downloaded into arrays (tests). */
  lossAndGradients(batch: PairBatch): {
    loss: number;
    gradients: Map<string, Float32Array>;
  } {
    const { lossSum, count, gradients } = this.lossAndGradientTensors(batch);
    const arrays = new Map<string, Float32Array>();
    for (const [name, g] of gradients) {
      arrays.set(name, g.dataSync() as Float32Array);
      g.dispose();
    }
    return { loss: lossSum / count, gradients: arrays };
  }

  /**
   * Encodes sources once for decoding: the encoder's outputs stay on the device (dispose the
   * result), and each source's decoder starts from `initialStates` [N*S].
   */
  encode(sources: ReadonlyArray<readonly number[]>): EncodedSources {
    const batch = sourceBatch(this.spec, sources);
    const kept = tf.tidy(() => {
      const { memory, mask, finalParts } = encodeSourceTensors(
        this.spec,
        this.cell,
        this.params,
        batch,
      );
      const initial = flattenState(bridgeState(this.spec, this.cell, this.params, finalParts));
      if (this.spec.attention !== 'additive') return { initial };
      const keys = attentionKeys(memory, this.params.get('attention/U') as Tensor2D);
      return { initial, memory, keys, bias: maskBias(mask) };
    });
    // Padding rows of the bucketed batch are cut off here; their memory rows are never attended.
    const initialStates = (kept.initial.dataSync() as Float32Array).slice(
      0,
      sources.length * this.decoderStateSize,
    );
    kept.initial.dispose();
    const attention =
      kept.memory && kept.keys && kept.bias
        ? { memory: kept.memory, keys: kept.keys, bias: kept.bias }
        : undefined;
    return new EncodedSources(sources.length, initialStates, attention);
  }

  /**
   * One decoder step for rows of encoded sources: row i feeds token `tokens[i]` (BOS = V at the
   * start) from state `states[i]`, attending to source `sourceIndex[i]` of `encoded`. Returns the
   * next-token distributions [B*(V+1)] (id V = end of target) and the new states [B*S].
   */
  decodeStep(
    encoded: EncodedSources,
    rows: { sourceIndex: Int32Array; tokens: Int32Array; states: Float32Array },
  ): { probs: Float32Array; states: Float32Array } {
    const B = rows.tokens.length;
    const S = this.decoderStateSize;
    if (rows.states.length !== B * S || rows.sourceIndex.length !== B)
      throw new ShapeError(
        `decodeStep got ${B} tokens, ${rows.sourceIndex.length} source indices and ${rows.states.length} state values; expected ${B * S} state values (S = ${S})`,
      );
    // Rows up to the shape ladder (batch-buckets.ts): padding rows attend to source 0 and are cut off.
    const P = paddedBatchSize(B);
    const { probs, states } = tf.tidy(() => {
      const weights = decoderWeights(this.spec, this.cell, this.params);
      const state = unflattenState(
        this.spec,
        this.cell,
        tf.tensor2d(padRows(rows.states, S, P), [P, S]),
      );
      const embedded = tf.gather(
        this.params.get('decoder/embedding'),
        tf.tensor1d(padRows(rows.tokens, 1, P), 'int32'),
      ) as Tensor2D;
      const attention = encoded.attentionRows(padRows(rows.sourceIndex, 1, P));
      const out = decoderStep({ cell: this.cell, weights, embedded, state, attention });
      return { probs: tf.softmax(out.logits), states: flattenState(out.state) };
    });
    const V1 = boundaryId(this.spec) + 1;
    const result = {
      probs: (probs.dataSync() as Float32Array).slice(0, B * V1),
      states: (states.dataSync() as Float32Array).slice(0, B * S),
    };
    probs.dispose();
    states.dispose();
    return result;
  }

  dispose(): void {
    this.params.dispose();
  }

  /** −ln p of every decoder step [B*Tt] under teacher forcing (inside tidy or a gradient). */
  private stepLossTensor(batch: PairBatch): Tensor1D {
    const { spec, cell, params } = this;
    const B = batch.sources.batchSize;
    const T = batch.targetSteps;
    const { memory, mask, finalParts } = encodeSourceTensors(spec, cell, params, batch.sources);
    let state = bridgeState(spec, cell, params, finalParts);
    const attention: AttentionMemory | undefined =
      spec.attention === 'additive'
        ? {
            memory,
            keys: attentionKeys(memory, params.get('attention/U') as Tensor2D),
            bias: maskBias(mask),
          }
        : undefined;
    const weights = decoderWeights(spec, cell, params);
    const embedded = tf.reshape(
      lookupRows(params.get('decoder/embedding') as Tensor2D, batch.decoderInputs),
      [B, T, spec.embedding],
    ) as Tensor3D;
    const perStep =
      T === 1
        ? [tf.reshape(embedded, [B, spec.embedding]) as Tensor2D]
        : (tf.unstack(embedded, 1) as Tensor2D[]);
    const logits: Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      const out = decoderStep({ cell, weights, embedded: perStep[t]!, state, attention });
      logits.push(out.logits);
      state = out.state;
    }
    // [B, T, V+1] in batch-major order, matching the targets' layout.
    const all = tf.reshape(tf.stack(logits, 1), [B * T, boundaryId(spec) + 1]) as Tensor2D;
    const picked = tf.oneHot(tf.tensor1d(batch.targets, 'int32'), boundaryId(spec) + 1);
    return tf.neg(tf.sum(tf.mul(tf.logSoftmax(all), picked), 1)) as Tensor1D;
  }
}

/** Sources encoded for decoding: initial decoder states, and attention's memory on the device. */
export class EncodedSources {
  readonly count: number;
  /** [N*S] each source's initial decoder state. */
  readonly initialStates: Float32Array;
  private readonly attention: AttentionMemory | undefined;

  constructor(count: number, initialStates: Float32Array, attention: AttentionMemory | undefined) {
    this.count = count;
    this.initialStates = initialStates;
    this.attention = attention;
  }

  /** The attention memory of the given sources, one row each (call inside tidy). */
  attentionRows(sourceIndex: Int32Array): AttentionMemory | undefined {
    const a = this.attention;
    if (!a) return undefined;
    for (const i of sourceIndex)
      if (!(i >= 0 && i < this.count))
        throw new ShapeError(`source index ${i} is outside the ${this.count} encoded sources`);
    const idx = tf.tensor1d(sourceIndex, 'int32');
    return {
      memory: tf.gather(a.memory, idx) as Tensor3D,
      keys: tf.gather(a.keys, idx) as Tensor3D,
      bias: tf.gather(a.bias, idx) as Tensor2D,
    };
  }

  dispose(): void {
    this.attention?.memory.dispose();
    this.attention?.keys.dispose();
    this.attention?.bias.dispose();
  }
}
