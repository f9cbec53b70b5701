/**
 * One decoder step as a pure function (the time loop is the caller's): from the previous state
 * s_{t-1} and the previous target token's embedding, with attention the context c_t read with
 * s_{t-1} as the query, the new state s_t and the output logits
 *   x_t = [C(y_{t-1}); c_t],  s_t = cell stack(x_t, s_{t-1}),  logits = [h_top(s_t); c_t] W_o + b_o
 * (Bahdanau et al. 2015: the context feeds both the decoder input and the output layer). Without
 * attention x_t = C(y_{t-1}) and logits = h_top(s_t) W_o + b_o.
 */
import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { CellDefinition, CellOptions, CellParams } from '../cells/index.js';
import type { ParameterSet } from '../parameter-set.js';
import { attend } from './additive-attention.js';
import { decoderInputSize, type Seq2seqSpec } from './seq2seq-spec.js';
import { layerParams } from './stack-params.js';

/** The decoder's weights fetched once per sequence (GRU kernels are concatenated only once). */
export interface DecoderWeights {
  readonly layers: ReadonlyArray<{
    readonly params: CellParams;
    readonly options: CellOptions;
    readonly kernel: Tensor2D;
    readonly bias: Tensor1D;
  }>;
  readonly outputW: Tensor2D;
  readonly outputB: Tensor1D;
  readonly attention?: { readonly W: Tensor2D; readonly v: Tensor1D };
}

/** What attention reads for each row of the step: encoder outputs, their keys, the mask bias. */
export interface AttentionMemory {
  readonly memory: Tensor3D;
  readonly keys: Tensor3D;
  readonly bias: Tensor2D;
}

export function decoderWeights(
  spec: Seq2seqSpec,
  cell: CellDefinition,
  params: ParameterSet,
): DecoderWeights {
  const layers = Array.from({ length: spec.layers }, (_, layer) => {
    const p = layerParams(params, 'decoder', layer);
    const options = {
      inputSize: layer === 0 ? decoderInputSize(spec) : spec.hidden,
      hidden: spec.hidden,
      peepholes: spec.peepholes,
      coupledGates: spec.coupledGates,
    };
    return { params: p, options, ...cell.inputProjection(p) };
  });
  return {
    layers,
    outputW: params.get('output/W') as Tensor2D,
    outputB: params.get('output/b') as Tensor1D,
    ...(spec.attention === 'additive'
      ? {
          attention: {
            W: params.get('attention/W') as Tensor2D,
            v: params.get('attention/v') as Tensor1D,
          },
        }
      : {}),
  };
}

export function decoderStep({
  cell,
  weights,
  embedded,
  state,
  attention,
}: {
  cell: CellDefinition;
  weights: DecoderWeights;
  /** [B, E] the embedding of y_{t-1} (BOS at the first step). */
  embedded: Tensor2D;
  /** Per layer, the state parts of s_{t-1}. */
  state: readonly Tensor2D[][];
  /** Required when the weights have attention. */
  attention?: AttentionMemory | undefined;
}): { logits: Tensor2D; state: Tensor2D[][]; weights?: Tensor2D } {
  const top = state[state.length - 1]![0]!;
  let context: Tensor2D | undefined;
  let attentionWeights: Tensor2D | undefined;
  if (weights.attention) {
    if (!attention) throw new Error('internal: an attention decoder stepped without its memory');
    ({ context, weights: attentionWeights } = attend({
      query: top,
      ...weights.attention,
      ...attention,
    }));
  }
  let x: Tensor2D = context ? (tf.concat([embedded, context], 1) as Tensor2D) : embedded;
  const next: Tensor2D[][] = [];
  weights.layers.forEach((layer, l) => {
    const xw = tf.add(tf.matMul(x, layer.kernel), layer.bias) as Tensor2D;
    const parts = cell.step(layer.params, xw, state[l]!, undefined, layer.options);
    next.push(parts);
    x = parts[0]!;
  });
  const features = context ? (tf.concat([x, context], 1) as Tensor2D) : x;
  const logits = tf.add(tf.matMul(features, weights.outputW), weights.outputB) as Tensor2D;
  return { logits, state: next, ...(attentionWeights ? { weights: attentionWeights } : {}) };
}
