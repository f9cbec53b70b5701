import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { ModelSpec } from '../model-spec.js';
import type { ParameterSet } from '../parameter-set.js';
import { causalConvStack, type ConvLayerParams } from './causal-conv.js';
import { convInputRows } from './conv-context.js';
import { convContextSteps } from './conv-spec.js';

/** The input layer: rows of token ids or feature vectors → [B, steps, E] (embedding / projection). */
export type EmbedRows = (rows: {
  batchSize: number;
  steps: number;
  tokens?: Int32Array | undefined;
  features?: Float32Array | undefined;
}) => Tensor3D;

/**
 * The first recurrent layer's inputs [B, T, channels] for a window or a step of a model with a
 * convolutional front end (call inside tf.tidy), and the conv context its final state carries
 * ([B, C·w], undefined when C = 0). The context inputs are embedded with the current parameters
 * inside the computation, so gradients reach the conv weights and the embedding rows (or input
 * projection) through them, while the loss stays on the window's own steps.
 */
export function convFrontEnd({
  spec,
  params,
  embed,
  batchSize,
  steps,
  tokens,
  features,
  validMask,
  initialState,
}: {
  spec: ModelSpec;
  params: ParameterSet;
  embed: EmbedRows;
  batchSize: number;
  steps: number;
  tokens?: Int32Array | undefined;
  features?: Float32Array | undefined;
  validMask?: Float32Array | undefined;
  /** [B·S] the rows' start states; their conv context is read from here. */
  initialState: Float32Array;
}): { inputs: Tensor3D; nextContext: Tensor2D | undefined } {
  const conv = spec.conv!;
  const rows = convInputRows(spec, { batchSize, steps, tokens, features, validMask, initialState });
  const embedded = embed({
    batchSize,
    steps: rows.steps,
    tokens: rows.tokens,
    features: rows.features,
  });
  // Empty slots (before a sequence start, padding) read a zero vector, not an embedding or the
  // projection's bias.
  const masked = tf.mul(
    embedded,
    tf.tensor3d(rows.present, [batchSize, rows.steps, 1]),
  ) as Tensor3D;
  const inputs = causalConvStack(convLayerParams(params, conv.layers), masked, conv);
  const C = convContextSteps(spec);
  const nextContext =
    C === 0
      ? undefined
      : tf.tensor2d(rows.nextContext, [batchSize, rows.nextContext.length / batchSize]);
  return { inputs, nextContext };
}

/** The parameters of conv layer l are `conv{l}/kernel` and `conv{l}/bias` (docs/model-math.md). */
function convLayerParams(params: ParameterSet, layers: number): ConvLayerParams[] {
  return Array.from({ length: layers }, (_, l) => ({
    kernel: params.get(`conv${l}/kernel`) as unknown as Tensor3D,
    bias: params.get(`conv${l}/bias`) as unknown as Tensor1D,
  }));
}
