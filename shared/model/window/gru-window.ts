/**
 * One GRU layer (GRUBlockCell form, docs/model-math.md) over a whole window as ONE
 * tf.customGrad built from ordinary tfjs ops: the generic loop's forward ops, a hand-written
 * backward with two products per step (dc̄ · Ucᵀ, then d[r̄, ū] · Uruᵀ; both transposed once per
 * window) and the weight, bias and input gradients of the window as three big products:
 * [h_in | x | 1]ᵀ · d[r̄, ū], [r ⊙ h_in | x | 1]ᵀ · dc̄ and d[r̄, ū, c̄] · [Wru | Wc]ᵀ.
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
  sigmoidSlope,
  splitCarryGradient,
  stackSteps,
  stepRows,
  tanhSlope,
  timeMajorRows,
  windowWeightGradients,
} from './common.js';

export function gruWindow({
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
    const save = args[8] as (tensors: Tensor[]) => void;
    const [xIn, h0, Wru, Uru, bru, Wc, Uc, bc] = args as [
      Tensor3D,
      Tensor2D,
      Tensor2D,
      Tensor2D,
      Tensor1D,
      Tensor2D,
      Tensor2D,
      Tensor1D,
    ];
    // Forward: the generic loop's ops (time-loop.ts, cells/gru.ts) in the same order.
    const xRows = timeMajorRows(xIn);
    const kernel = tf.concat([Wru, Wc], 1) as Tensor2D;
    const xw = stepRows(
      tf.add(tf.matMul(xRows, kernel), tf.concat([bru, bc], 0)) as Tensor2D,
      steps,
    );
    let h = h0;
    const hPrevs: Tensor2D[] = [];
    const hIns: Tensor2D[] = [];
    const rs: Tensor2D[] = [];
    const us: Tensor2D[] = [];
    const cs: Tensor2D[] = [];
    const rhs: Tensor2D[] = [];
    const hs: Tensor2D[] = [];
    for (let t = 0; t < steps; t++) {
      const [xru, xc] = tf.split(xw[t]!, [2 * hidden, hidden], 1) as [Tensor2D, Tensor2D];
      const hIn = m ? (tf.mul(h, m) as Tensor2D) : h;
      const ru = tf.sigmoid(tf.add(xru, tf.matMul(hIn, Uru)));
      const [r, u] = tf.split(ru, 2, 1) as [Tensor2D, Tensor2D];
      const rh = tf.mul(r, hIn) as Tensor2D;
      const c = tf.tanh(tf.add(xc, tf.matMul(rh, Uc))) as Tensor2D;
      const hNew = tf.add(c, tf.mul(u, tf.sub(h, c))) as Tensor2D;
      hPrevs.push(h);
      hIns.push(hIn);
      rs.push(r);
      us.push(u);
      cs.push(c);
      rhs.push(rh);
      h = carry(h, hNew, valid?.[t]);
      hs.push(h);
    }
    const value = stackSteps(hs);

    const saved = new SavedTensors();
    saved.add('x', [xRows]);
    saved.add('kernel', [kernel]);
    saved.add('U', [Uru, Uc]);
    saved.add('hPrev', hPrevs);
    saved.add('hIn', m ? hIns : []);
    saved.add('r', rs);
    saved.add('u', us);
    saved.add('c', cs);
    saved.add('rh', rhs);
    saveMasks(saved, { valid, recurrent: m });
    save(saved.flat());

    const gradFunc = (dy: Tensor3D, s: Tensor[]): Tensor[] => {
      const { valid: sValid, recurrent: sm } = savedMasks(saved, s, { valid, recurrent: m });
      const sx = saved.one(s, 'x');
      const sKernel = saved.one(s, 'kernel');
      const [sUru, sUc] = saved.get(s, 'U') as [Tensor2D, Tensor2D];
      const [shPrev, sr, su, sc, srh] = ['hPrev', 'r', 'u', 'c', 'rh'].map((n) => saved.get(s, n));
      const shIn = m ? saved.get(s, 'hIn') : shPrev!;
      const UruT = tf.transpose(sUru) as Tensor2D;
      const UcT = tf.transpose(sUc) as Tensor2D;
      const dys = perStep(dy);
      let dh: Tensor2D | undefined;
      const dRus = new Array<Tensor2D>(steps);
      const dCs = new Array<Tensor2D>(steps);
      for (let t = steps - 1; t >= 0; t--) {
        const { toNew, toOld } = splitCarryGradient(addMaybe(dys[t]!, dh), sValid?.[t]);
        const [hPrev, hIn, r, u, c] = [shPrev![t]!, shIn[t]!, sr![t]!, su![t]!, sc![t]!];
        // h_new = c + u ⊙ (h_prev - c)
        const uDh = tf.mul(u, toNew) as Tensor2D;
        const dzc = tf.mul(tf.sub(toNew, uDh), tanhSlope(c)) as Tensor2D;
        const dzu = tf.mul(tf.mul(toNew, tf.sub(hPrev, c)), sigmoidSlope(u)) as Tensor2D;
        // c = tanh(x Wc + (r ⊙ h_in) Uc + bc)
        const dRh = tf.matMul(dzc, UcT) as Tensor2D;
        const dzr = tf.mul(tf.mul(dRh, hIn), sigmoidSlope(r)) as Tensor2D;
        const dzru = tf.concat([dzr, dzu], 1) as Tensor2D;
        // [r, u] = σ(x Wru + h_in Uru + bru)
        const dhIn = tf.add(tf.mul(dRh, r), tf.matMul(dzru, UruT)) as Tensor2D;
        dh = addMaybe(tf.add(uDh, sm ? tf.mul(dhIn, sm) : dhIn) as Tensor2D, toOld);
        dRus[t] = dzru;
        dCs[t] = dzc;
      }
      const dRu = concatSteps(dRus);
      const dC = concatSteps(dCs);
      const ru = windowWeightGradients([concatSteps(shIn), sx], dRu);
      const cg = windowWeightGradients([concatSteps(srh!), sx], dC);
      const dx = batchMajor(
        tf.matMul(tf.concat([dRu, dC], 1) as Tensor2D, sKernel, false, true) as Tensor2D,
        batch,
        steps,
      );
      return [
        dx,
        dh!,
        ru.products[1]!,
        ru.products[0]!,
        tf.reshape(ru.columnSums, [2 * hidden]),
        cg.products[1]!,
        cg.products[0]!,
        tf.reshape(cg.columnSums, [hidden]),
      ];
    };
    return { value, gradFunc };
  }) as unknown as (...inputs: Tensor[]) => Tensor3D;

  const names = ['Wru', 'Uru', 'bru', 'Wc', 'Uc', 'bc'];
  const outputs = op(x, initial[0]!, ...names.map((n) => params[n]!));
  const hLast = tf.reshape(tf.slice(outputs, [0, steps - 1, 0], [batch, 1, hidden]), [
    batch,
    hidden,
  ]) as Tensor2D;
  return { outputs, final: [hLast] };
}
