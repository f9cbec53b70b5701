/**
 * Additive attention (Bahdanau et al. 2015): score(s, h_j) = vᵀ tanh(s W + h_j U), the weights a
 * softmax of the scores over the real source steps, the context Σ_j α_j h_j. The query s is the
 * decoder's top-layer h before the step (s_{t-1}); the keys h_j U are computed once per source.
 */
import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';

/** A large negative score for padded source steps: exp of it is exactly 0 in float32. */
const MASKED_SCORE = -1e9;

/** h_j U for every source step [B, T, A]: the query-independent half of the scores. */
export function attentionKeys(memory: Tensor3D, U: Tensor2D): Tensor3D {
  const [batch, steps, width] = memory.shape;
  const keys = tf.matMul(tf.reshape(memory, [batch * steps, width]), U);
  return tf.reshape(keys, [batch, steps, U.shape[1]]) as Tensor3D;
}

/** (1 − mask) · MASKED_SCORE [B, T], added to the scores. */
export function maskBias(mask: Tensor2D): Tensor2D {
  return tf.mul(tf.sub(1, mask), MASKED_SCORE) as Tensor2D;
}

export function attend({
  query,
  W,
  v,
  keys,
  bias,
  memory,
}: {
  /** [B, H] the decoder's top h before this step. */
  query: Tensor2D;
  W: Tensor2D;
  v: Tensor1D;
  keys: Tensor3D;
  bias: Tensor2D;
  memory: Tensor3D;
}): { context: Tensor2D; weights: Tensor2D } {
  const [batch, steps, A] = keys.shape;
  const hidden = tf.tanh(tf.add(keys, tf.expandDims(tf.matMul(query, W), 1)));
  const scores = tf.reshape(
    tf.matMul(tf.reshape(hidden, [batch * steps, A]), tf.reshape(v, [A, 1])),
    [batch, steps],
  );
  const weights = tf.softmax(tf.add(scores, bias)) as Tensor2D;
  const context = tf.reshape(tf.matMul(tf.expandDims(weights, 1), memory), [
    batch,
    memory.shape[2],
  ]) as Tensor2D;
  return { context, weights };
}
