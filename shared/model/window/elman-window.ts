/**
 * One Elman RNN layer (h_t = tanh(x_t W + h_{t-1} U + b)) over a whole window as ONE
 * tf.customGrad built from ordinary tfjs ops: the generic loop's forward ops, a hand-written
 * backward with one product dz · Uᵀ per step (Uᵀ transposed once per window), and the weight,
 * bias and input gradients of the window as two big products ([h_in | x | 1]ᵀ · dZ, dZ · Wᵀ).
 * Left padding and recurrent dropout are supported.
 */
import { tf } from '../../engine/tf.js';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { LayerSequenceInput } from '../time-loop.js';
import {
  addMaybe,
  batchMajor,
  carry,
  concatSteps,
  perStep,
  SavedTensors,
  saveMasks,
  savedMasks,
  splitCarryGradient,
  stackSteps,
  stepRows,
  tanhSlope,
  timeMajorRows,
  windowWeightGradients,
} from './common.js';

export function elmanWindow({
  params,
  options,
  inputs,
  initial,
  valid,
  inputMask,
  recurrentMask,
}: LayerSequenceInput): { outputs: Tensor3D; final: Tensor2D[] } {
  const [batch, steps] = inputs.shape;
  const { hidden } = options;
  const x = inputMask ? (tf.mul(inputs, tf.expandDims(inputMask, 1)) as Tensor3D) : inputs;
  const m = recurrentMask;

  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[5] as (tensors: Tensor[]) => void;
    const [xIn, h0, W, U, b] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor2D, Tensor1D];
    // Forward: the generic loop's ops (time-loop.ts, cells/elman.ts) in the same order.
    const xRows = timeMajorRows(xIn);
    const xw = stepRows(tf.add(tf.matMul(xRows, W), b) as Tensor2D, steps);
    let h = h0;
    const hIns: Tensor2D[] = [];
    const hNews: Tensor2D[] = [];
    const hs: Tensor2D[] = [];
    for (let t = 0; t < steps; t++) {
      const hIn = m ? (tf.mul(h, m) as Tensor2D) : h;
      const hNew = tf.tanh(tf.add(xw[t]!, tf.matMul(hIn, U))) as Tensor2D;
      hIns.push(hIn);
      hNews.push(hNew);
      h = carry(h, hNew, valid?.[t]);
      hs.push(h);
    }
    const value = stackSteps(hs);

    const saved = new SavedTensors();
    saved.add('x', [xRows]);
    saved.add('W', [W]);
    saved.add('U', [U]);
    saved.add('hIn', hIns);
    saved.add('hNew', hNews);
    saveMasks(saved, { valid, recurrent: m });
    save(saved.flat());

    const gradFunc = (dy: Tensor3D, s: Tensor[]): Tensor[] => {
      const { valid: sValid, recurrent: sm } = savedMasks(saved, s, { valid, recurrent: m });
      const sx = saved.one(s, 'x');
      const sW = saved.one(s, 'W');
      const Ut = tf.transpose(saved.one(s, 'U')) as Tensor2D;
      const shIn = saved.get(s, 'hIn');
      const shNew = saved.get(s, 'hNew');
      const dys = perStep(dy);
      let dh: Tensor2D | undefined;
      const dzs = new Array<Tensor2D>(steps);
      for (let t = steps - 1; t >= 0; t--) {
        const { toNew, toOld } = splitCarryGradient(addMaybe(dys[t]!, dh), sValid?.[t]);
        const dz = tf.mul(toNew, tanhSlope(shNew[t]!)) as Tensor2D;
        dzs[t] = dz;
        const dhIn = tf.matMul(dz, Ut) as Tensor2D;
        dh = addMaybe(sm ? (tf.mul(dhIn, sm) as Tensor2D) : dhIn, toOld);
      }
      const dZ = concatSteps(dzs);
      const {
        products: [dU, dW],
        columnSums,
      } = windowWeightGradients([concatSteps(shIn), sx], dZ);
      const dx = batchMajor(tf.matMul(dZ, sW, false, true) as Tensor2D, batch, steps);
      return [dx, dh!, dW!, dU!, tf.reshape(columnSums, [hidden])];
    };
    return { value, gradFunc };
  }) as unknown as (...inputs: Tensor[]) => Tensor3D;

  const outputs = op(x, initial[0]!, params['W']!, params['U']!, params['b']!);
  const hLast = tf.reshape(tf.slice(outputs, [0, steps - 1, 0], [batch, 1, hidden]), [
    batch,
    hidden,
  ]) as Tensor2D;
  return { outputs, final: [hLast] };
}
