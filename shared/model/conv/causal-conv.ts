import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import { ShapeError } from '../../errors/index.js';
import type { ConvActivation, ConvSpec } from './conv-spec.js';

/** One convolution's parameters: `kernel` [k, C_in, C_out] (tap 0 the oldest), `bias` [C_out]. */
export interface ConvLayerParams {
  readonly kernel: Tensor3D;
  readonly bias: Tensor1D;
}

/**
 * One causal dilated 1D convolution, a pure function of its parameters and inputs (call inside
 * tf.tidy): `inputs` [B, ctx + T, C_in] hold ctx = (k − 1)·d steps of left context and then the
 * T steps whose outputs are wanted; the result [B, T, C_out] is
 *
 *     y[b, t] = act(bias + Σ_{i<k} x[b, ctx + t − (k − 1 − i)·d] · kernel[i])
 *
 * so output t reads inputs t − (k−1)d … t only. The k shifted views are laid side by side and
 * multiplied by the kernel as one [k·C_in, C_out] matrix: one product, and only slice, concat and
 * matMul, whose gradients every backend has (tfjs' conv1d has no gradient for dilation > 1).
 */
export function causalConv(
  params: ConvLayerParams,
  inputs: Tensor3D,
  {
    kernelWidth: k,
    dilation: d,
    activation,
  }: Pick<ConvSpec, 'kernelWidth' | 'dilation' | 'activation'>,
): Tensor3D {
  const [batch, total, inChannels] = inputs.shape;
  const [taps, kernelIn, outChannels] = params.kernel.shape;
  const context = (k - 1) * d;
  const steps = total - context;
  if (taps !== k || kernelIn !== inChannels || steps < 1)
    throw new ShapeError(
      `causal conv: inputs [${inputs.shape}] and kernel [${params.kernel.shape}] do not fit a width-${k} dilation-${d} convolution (it needs ${context} context steps before at least one step, and a kernel [${k}, ${inChannels}, C_out])`,
    );
  const views = Array.from({ length: k }, (_, i) =>
    tf.slice(inputs, [0, i * d, 0], [batch, steps, inChannels]),
  );
  const stacked = k === 1 ? views[0]! : tf.concat(views, 2);
  const product = tf.matMul(
    tf.reshape(stacked, [batch * steps, k * inChannels]) as Tensor2D,
    tf.reshape(params.kernel, [k * inChannels, outChannels]) as Tensor2D,
  );
  const preActivation = tf.add(product, params.bias) as Tensor2D;
  return tf.reshape(activate(preActivation, activation), [batch, steps, outChannels]);
}

/** The stacked convolutions of a front end: each consumes its own (k − 1)·d steps of context. */
export function causalConvStack(
  layers: readonly ConvLayerParams[],
  inputs: Tensor3D,
  conv: ConvSpec,
): Tensor3D {
  return layers.reduce((x, params) => causalConv(params, x, conv), inputs);
}

function activate(x: Tensor2D, activation: ConvActivation): Tensor2D {
  switch (activation) {
    case 'linear':
      return x;
    case 'tanh':
      return tf.tanh(x);
    case 'relu':
      return tf.relu(x);
  }
}
