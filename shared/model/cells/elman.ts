import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { createElmanParams } from './elman-params.js';
import type { CellDefinition } from './cell.js';

/** Elman RNN: h_t = tanh(x_t W + h_{t-1} U + b). */
export const elmanCell: CellDefinition = {
  stateParts: 1,
  createParams: createElmanParams,
  inputProjection(p) {
    return { kernel: p['W'] as Tensor2D, bias: p['b'] as Tensor1D };
  },
  step(p, xw, [h], mask) {
    const hIn = mask ? tf.mul(h!, mask) : h!;
    return [tf.tanh(tf.add(xw, tf.matMul(hIn, p['U'] as Tensor2D))) as Tensor2D];
  },
};
