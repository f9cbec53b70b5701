/**
 * One LSTM layer over a whole window as ONE tf.customGrad, built from ordinary tfjs ops: the
 * forward is the generic loop's own sequence of ops (so it gives the same values), the backward
 * is written out by hand (docs/model-math.md, with every option: peepholes, coupled gates, left
 * padding, recurrent dropout).
 *
 * Backward per step: the element-wise gate gradients from the saved activations and ONE
 * product dz · Uᵀ (Uᵀ transposed once per window). After the loop, the weight, bias and input
 * gradients of the whole window are two big products instead of one small product per step:
 * [h_in | x | 1]ᵀ · dZ gives dU, dW and db at once, dZ · Wᵀ gives dx. Autodiff of the generic
 * loop instead spends ~3 products (two transposed), ~30 small element-wise ops and a copy of
 * every saved operand per step.
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

export function lstmWindow({
  params,
  options,
  inputs,
  initial,
  valid,
  inputMask,
  recurrentMask,
}: LayerSequenceInput): { outputs: Tensor3D; final: Tensor2D[] } {
  const [batch, steps] = inputs.shape;
  const { hidden, peepholes, coupledGates } = options;
  const gates = coupledGates ? 3 : 4;
  const x = inputMask ? (tf.mul(inputs, tf.expandDims(inputMask, 1)) as Tensor3D) : inputs;
  const peepholeNames = peepholes ? (coupledGates ? ['wci', 'wco'] : ['wci', 'wcf', 'wco']) : [];
  const m = recurrentMask;

  const op = tf.customGrad((...args: unknown[]) => {
    const nInputs = 6 + peepholeNames.length;
    const save = args[nInputs] as (tensors: Tensor[]) => void;
    const [xIn, h0, c0, W, U, b] = args as [
      Tensor3D,
      Tensor2D,
      Tensor2D,
      Tensor2D,
      Tensor2D,
      Tensor1D,
    ];
    const peep = Object.fromEntries(
      peepholeNames.map((n, k) => [n, args[6 + k] as Tensor1D]),
    ) as Record<string, Tensor1D>;

    // Forward: the generic loop's ops (time-loop.ts, cells/lstm.ts) in the same order.
    const xRows = timeMajorRows(xIn);
    const xw = stepRows(tf.add(tf.matMul(xRows, W), b) as Tensor2D, steps);
    let h = h0;
    let c = c0;
    const hIns: Tensor2D[] = [];
    const cs: Tensor2D[] = [c0];
    const is: Tensor2D[] = [];
    const fs: Tensor2D[] = [];
    const gs: Tensor2D[] = [];
    const os: Tensor2D[] = [];
    const tcs: Tensor2D[] = [];
    const cNews: Tensor2D[] = [];
    const hs: Tensor2D[] = [];
    for (let t = 0; t < steps; t++) {
      const hIn = m ? (tf.mul(h, m) as Tensor2D) : h;
      const z = tf.add(xw[t]!, tf.matMul(hIn, U)) as Tensor2D;
      const parts = tf.split(z, gates, 1) as Tensor2D[];
      const [zi, zc] = [parts[0]!, parts[1]!];
      const zo = parts[gates - 1]!;
      const i = tf.sigmoid(peepholes ? tf.add(zi, tf.mul(c, peep['wci']!)) : zi) as Tensor2D;
      const f = (
        coupledGates
          ? tf.sub(1, i)
          : tf.sigmoid(peepholes ? tf.add(parts[2]!, tf.mul(c, peep['wcf']!)) : parts[2]!)
      ) as Tensor2D;
      const g = tf.tanh(zc) as Tensor2D;
      const cNew = tf.add(tf.mul(f, c), tf.mul(i, g)) as Tensor2D;
      const o = tf.sigmoid(peepholes ? tf.add(zo, tf.mul(cNew, peep['wco']!)) : zo) as Tensor2D;
      const tc = tf.tanh(cNew) as Tensor2D;
      const hNew = tf.mul(o, tc) as Tensor2D;
      hIns.push(hIn);
      is.push(i);
      fs.push(f);
      gs.push(g);
      os.push(o);
      tcs.push(tc);
      cNews.push(cNew);
      const v = valid?.[t];
      h = carry(h, hNew, v);
      c = carry(c, cNew, v);
      hs.push(h);
      cs.push(c);
    }
    const value = stackSteps([...hs, c]);

    const saved = new SavedTensors();
    saved.add('x', [xRows]);
    saved.add('W', [W]);
    saved.add('U', [U]);
    saved.add(
      'peep',
      peepholeNames.map((n) => peep[n]!),
    );
    saved.add('hIn', hIns);
    saved.add('c', cs.slice(0, steps)); // c_{t-1} of every step
    saved.add('i', is);
    saved.add('f', coupledGates ? [] : fs);
    saved.add('g', gs);
    saved.add('o', os);
    saved.add('tc', tcs);
    saved.add('cNew', peepholes ? cNews : []);
    saveMasks(saved, { valid, recurrent: m });
    save(saved.flat());

    const gradFunc = (dy: Tensor3D, s: Tensor[]): Tensor[] => {
      const { valid: sValid, recurrent: sm } = savedMasks(saved, s, { valid, recurrent: m });
      const sx = saved.one(s, 'x');
      const sW = saved.one(s, 'W');
      const sU = saved.one(s, 'U');
      const sPeep = Object.fromEntries(
        peepholeNames.map((n, k) => [n, saved.get<Tensor1D>(s, 'peep')[k]!]),
      ) as Record<string, Tensor1D>;
      const [sh, sc, si, sf, sg, so, stc, scNew] = [
        'hIn',
        'c',
        'i',
        'f',
        'g',
        'o',
        'tc',
        'cNew',
      ].map((n) => saved.get(s, n));
      const Ut = tf.transpose(sU) as Tensor2D;
      const dys = perStep(dy);
      let dh: Tensor2D | undefined;
      let dc: Tensor2D = dys[steps]!;
      const dzs = new Array<Tensor2D>(steps);
      const dPeep: Record<string, Tensor2D[]> = { wci: [], wcf: [], wco: [] };
      for (let t = steps - 1; t >= 0; t--) {
        const v = sValid?.[t];
        const dhTotal = addMaybe(dys[t]!, dh);
        const dhSplit = splitCarryGradient(dhTotal, v);
        const dcSplit = splitCarryGradient(dc, v);
        const [i, g, o, tc, cPrev] = [si![t]!, sg![t]!, so![t]!, stc![t]!, sc![t]!];
        const f = coupledGates ? (tf.sub(1, i) as Tensor2D) : sf![t]!;
        // h = o ⊙ tanh(c_new)
        const dzo = tf.mul(tf.mul(dhSplit.toNew, tc), sigmoidSlope(o)) as Tensor2D;
        let dcNew = tf.add(dcSplit.toNew, tf.mul(dhSplit.toNew, tf.mul(o, tanhSlope(tc))));
        if (peepholes) {
          dcNew = tf.add(dcNew, tf.mul(dzo, sPeep['wco']!));
          dPeep['wco']!.push(tf.mul(dzo, scNew![t]!) as Tensor2D);
        }
        // c_new = f ⊙ c_prev + i ⊙ g, with f = 1 - i when coupled
        const dzc = tf.mul(tf.mul(dcNew, i), tanhSlope(g)) as Tensor2D;
        const di = coupledGates ? tf.mul(dcNew, tf.sub(g, cPrev)) : tf.mul(dcNew, g);
        const dzi = tf.mul(di, sigmoidSlope(i)) as Tensor2D;
        let dcPrev = tf.mul(dcNew, f) as Tensor2D;
        let dz: Tensor2D;
        if (coupledGates) {
          dz = tf.concat([dzi, dzc, dzo], 1) as Tensor2D;
        } else {
          const dzf = tf.mul(tf.mul(dcNew, cPrev), sigmoidSlope(f)) as Tensor2D;
          dz = tf.concat([dzi, dzc, dzf, dzo], 1) as Tensor2D;
          if (peepholes) {
            dcPrev = tf.add(dcPrev, tf.mul(dzf, sPeep['wcf']!)) as Tensor2D;
            dPeep['wcf']!.push(tf.mul(dzf, cPrev) as Tensor2D);
          }
        }
        if (peepholes) {
          dcPrev = tf.add(dcPrev, tf.mul(dzi, sPeep['wci']!)) as Tensor2D;
          dPeep['wci']!.push(tf.mul(dzi, cPrev) as Tensor2D);
        }
        dzs[t] = dz;
        const dhIn = tf.matMul(dz, Ut) as Tensor2D;
        dh = addMaybe(sm ? (tf.mul(dhIn, sm) as Tensor2D) : dhIn, dhSplit.toOld);
        dc = addMaybe(dcPrev, dcSplit.toOld);
      }
      const dZ = concatSteps(dzs);
      const {
        products: [dU, dW],
        columnSums,
      } = windowWeightGradients([concatSteps(sh!), sx], dZ);
      const dx = batchMajor(tf.matMul(dZ, sW, false, true) as Tensor2D, batch, steps);
      const peepGrads = peepholeNames.map((n) =>
        tf.reshape(tf.matMul(tf.ones([1, batch * steps]), concatSteps(dPeep[n]!)), [hidden]),
      );
      return [dx, dh!, dc, dW!, dU!, tf.reshape(columnSums, [gates * hidden]), ...peepGrads];
    };
    return { value, gradFunc };
  }) as unknown as (...inputs: Tensor[]) => Tensor3D;

  const packed = op(
    x,
    initial[0]!,
    initial[1]!,
    params['W']!,
    params['U']!,
    params['b']!,
    ...peepholeNames.map((n) => params[n]!),
  );
  const outputs = tf.slice(packed, [0, 0, 0], [batch, steps, hidden]) as Tensor3D;
  const hLast = tf.reshape(tf.slice(packed, [0, steps - 1, 0], [batch, 1, hidden]), [
    batch,
    hidden,
  ]) as Tensor2D;
  const cLast = tf.reshape(tf.slice(packed, [0, steps, 0], [batch, 1, hidden]), [
    batch,
    hidden,
  ]) as Tensor2D;
  return { outputs, final: [hLast, cLast] };
}
