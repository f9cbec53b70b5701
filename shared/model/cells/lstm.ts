import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { createLstmParams } from './lstm-params.js';
import type { CellDefinition } from './cell.js';

/**
 * LSTM with gate order i, c̃, f, o (TensorFlow BlockLSTM's order, so a fused kernel can take our
 * weights as they are). Coupled gates drop the f block (f = 1 - i); peepholes add wci/wcf/wco.
 */
export const lstmCell: CellDefinition = {
  stateParts: 2,
  createParams: createLstmParams,
  inputProjection(p) {
    return { kernel: p['W'] as Tensor2D, bias: p['b'] as Tensor1D };
  },
  step(p, xw, [h, c], mask, { peepholes, coupledGates }) {
    const hIn = mask ? tf.mul(h!, mask) : h!;
    const z = tf.add(xw, tf.matMul(hIn, p['U'] as Tensor2D));
    const parts = tf.split(z, coupledGates ? 3 : 4, 1) as Tensor2D[];
    const [zi, zc] = [parts[0]!, parts[1]!];
    const zo = parts[coupledGates ? 2 : 3]!;
    const i = tf.sigmoid(peepholes ? tf.add(zi, tf.mul(c!, p['wci']!)) : zi);
    const f = coupledGates
      ? tf.sub(1, i)
      : tf.sigmoid(peepholes ? tf.add(parts[2]!, tf.mul(c!, p['wcf']!)) : parts[2]!);
    const cNext = tf.add(tf.mul(f, c!), tf.mul(i, tf.tanh(zc))) as Tensor2D;
    const o = tf.sigmoid(peepholes ? tf.add(zo, tf.mul(cNext, p['wco']!)) : zo);
    return [tf.mul(o, tf.tanh(cNext)) as Tensor2D, cNext];
  },
};
