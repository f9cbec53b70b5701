import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { createGruParams } from './gru-params.js';
import type { CellDefinition } from './cell.js';

/**
 * GRU in TensorFlow's GRUBlockCell form (reset applied to h before the recurrent product):
 * [r, u] = σ(x Wru + h Uru + bru); c = tanh(x Wc + (r ⊙ h) Uc + bc); h' = u ⊙ h + (1 - u) ⊙ c.
 */
export const gruCell: CellDefinition = {
  stateParts: 1,
  createParams: createGruParams,
  inputProjection(p) {
    // One [d, 3H] kernel so the whole window's input part is a single matmul.
    return {
      kernel: tf.concat([p['Wru'] as Tensor2D, p['Wc'] as Tensor2D], 1),
      bias: tf.concat([p['bru'] as Tensor1D, p['bc'] as Tensor1D], 0),
    };
  },
  step(p, xw, [h], mask, { hidden }) {
    const [xru, xc] = tf.split(xw, [2 * hidden, hidden], 1) as [Tensor2D, Tensor2D];
    const hIn = mask ? tf.mul(h!, mask) : h!;
    const ru = tf.sigmoid(tf.add(xru, tf.matMul(hIn, p['Uru'] as Tensor2D)));
    const [r, u] = tf.split(ru, 2, 1) as [Tensor2D, Tensor2D];
    const c = tf.tanh(tf.add(xc, tf.matMul(tf.mul(r, hIn), p['Uc'] as Tensor2D)));
    // h' = u ⊙ h + (1 - u) ⊙ c  ==  c + u ⊙ (h - c)
    return [tf.add(c, tf.mul(u, tf.sub(h!, c))) as Tensor2D];
  },
};
