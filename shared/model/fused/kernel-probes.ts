/**
 * One-time probes of TensorFlow's fused RNN kernels: each runs the op on a tiny case whose answer
 * is computed here from docs/model-math.md's formulas, so a TensorFlow build whose op differs
 * (gate order, attributes, a missing kernel) is found before a model relies on it. The verdict
 * is kept per backend instance; a failure is logged once and the caller takes the generic path.
 */
import { tf } from '../../engine/tf.js';
import type { Tensor } from '@tensorflow/tfjs';
import {
  BLOCK_LSTM_GRADIENTS,
  BLOCK_LSTM_OUTPUTS,
  blockLstmForwardAttrs,
  cellGradients,
  lstmGradAttrs,
} from './block-lstm-sequence.js';
import type { NativeOps } from './native-ops.js';

/** What can be probed: the fused forward of a cell, or the per-step LSTM backward. */
export type Probe = 'lstm' | 'gru' | 'lstm-cell';

export interface FusedKernelLogger {
  warn(obj: object, msg: string): void;
}

const verdicts = new WeakMap<NativeOps, Map<Probe, boolean>>();
const PROBES: Record<Probe, (ops: NativeOps) => void> = {
  lstm: probeBlockLstm,
  'lstm-cell': probeLstmCell,
  gru: probeGruBlock,
};

/** True when `kernel` passed its probe on this backend (probed at the first call, then cached). */
export function kernelWorks(ops: NativeOps, kernel: Probe, logger: FusedKernelLogger): boolean {
  let byKernel = verdicts.get(ops);
  if (!byKernel) verdicts.set(ops, (byKernel = new Map()));
  let ok = byKernel.get(kernel);
  if (ok === undefined) {
    try {
      tf.tidy(() => PROBES[kernel](ops));
      ok = true;
    } catch (err) {
      ok = false;
      logger.warn(
        { kernel, tensorflow: ops.tensorflowVersion, error: firstLine(err) },
        kernel === 'lstm-cell'
          ? 'LSTMBlockCell / LSTMBlockCellGrad unavailable on the tensorflow backend; fused LSTM layers use BlockLSTM / BlockLSTMGrad only (slower for large layers, same results)'
          : `fused ${kernel} kernel unavailable on the tensorflow backend; using the generic tfjs time loop (slower, same results)`,
      );
    }
    byKernel.set(kernel, ok);
  }
  return ok;
}

/** The first line of an error's message: TensorFlow's messages carry a stack of their own. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const PROBE_TOL = 1e-5;

function expectClose(what: string, got: ArrayLike<number>, want: readonly number[]): void {
  for (let k = 0; k < want.length; k++) {
    if (!(Math.abs(got[k]! - want[k]!) <= PROBE_TOL))
      throw new Error(`${what}[${k}] = ${got[k]}, expected ${want[k]}`);
  }
}

function expectShapes(what: string, tensors: Tensor[], shapes: number[][]): void {
  if (tensors.length !== shapes.length)
    throw new Error(`${what}: ${tensors.length} outputs, expected ${shapes.length}`);
  tensors.forEach((t, k) => {
    if (t.shape.join('x') !== shapes[k]!.join('x'))
      throw new Error(`${what} output ${k}: shape [${t.shape}], expected [${shapes[k]}]`);
    const v = t.dataSync();
    for (let i = 0; i < v.length; i++)
      if (!Number.isFinite(v[i]!)) throw new Error(`${what} output ${k} is not finite`);
  });
}

type LstmProbeInputs = [
  x: Tensor,
  c0: Tensor,
  h0: Tensor,
  W: Tensor,
  U: Tensor,
  b: Tensor,
  wci: Tensor,
  wcf: Tensor,
  wco: Tensor,
];

/** T=2, B=1, d=1, H=1 LSTM with peepholes: the op inputs and docs/model-math.md's h and c. */
function lstmProbeData() {
  const xs = [0.5, -0.3];
  const [c0, h0] = [0.2, -0.1];
  const W = [0.3, -0.2, 0.4, 0.1]; // i, c̃, f, o
  const U = [-0.5, 0.6, 0.2, -0.3];
  const b = [0.1, -0.1, 1, 0.05];
  const [wci, wcf, wco] = [0.3, -0.4, 0.2];
  const wantH: number[] = [];
  const wantC: number[] = [];
  let [c, h] = [c0, h0];
  for (const x of xs) {
    const z = W.map((w, k) => x * w + h * U[k]! + b[k]!);
    const i = sigmoid(z[0]! + c * wci);
    const f = sigmoid(z[2]! + c * wcf);
    c = f * c + i * Math.tanh(z[1]!);
    const o = sigmoid(z[3]! + c * wco);
    h = o * Math.tanh(c);
    wantH.push(h);
    wantC.push(c);
  }
  const inputs: LstmProbeInputs = [
    tf.tensor3d(xs, [2, 1, 1]),
    tf.tensor2d([c0], [1, 1]),
    tf.tensor2d([h0], [1, 1]),
    tf.tensor2d(W, [1, 4]),
    tf.tensor2d(U, [1, 4]),
    tf.tensor1d(b),
    tf.tensor1d([wci]),
    tf.tensor1d([wcf]),
    tf.tensor1d([wco]),
  ];
  return { inputs, wantH, wantC };
}

/** BlockLSTM and BlockLSTMGrad on lstmProbeData; returns the outputs and the 8 gradients. */
function runBlockLstmProbe(ops: NativeOps): {
  inputs: LstmProbeInputs;
  outs: Tensor[];
  grads: Tensor[];
  hGrad: Tensor;
  csLastGrad: Tensor;
} {
  const { inputs, wantH, wantC } = lstmProbeData();
  const [x, c0, h0, W, U, b, wci, wcf, wco] = inputs;
  const opInputs = [x, c0, h0, tf.concat([W, U], 0), wci, wcf, wco, b];
  const outs = ops.execute(
    'BlockLSTM',
    blockLstmForwardAttrs(ops, true),
    [{ int64: 2 }, ...opInputs],
    BLOCK_LSTM_OUTPUTS,
  );
  expectShapes(
    'BlockLSTM',
    outs,
    Array.from({ length: BLOCK_LSTM_OUTPUTS }, () => [2, 1, 1]),
  );
  expectClose('BlockLSTM h', outs[6]!.dataSync(), wantH);
  expectClose('BlockLSTM cs', outs[1]!.dataSync(), wantC);
  const hGrad = tf.tensor3d([0.7, -1.1], [2, 1, 1]);
  const csLastGrad = tf.tensor3d([0.4], [1, 1, 1]);
  const csGrad = tf.concat([tf.zeros([1, 1, 1]), csLastGrad], 0);
  const grads = ops.execute(
    'BlockLSTMGrad',
    lstmGradAttrs(ops, true),
    [{ int64: 2 }, ...opInputs, ...outs, csGrad, hGrad],
    BLOCK_LSTM_GRADIENTS,
  );
  expectShapes('BlockLSTMGrad', grads, [[2, 1, 1], [1, 1], [1, 1], [2, 4], [1], [1], [1], [4]]);
  return { inputs, outs, grads, hGrad, csLastGrad };
}

/**
 * BlockLSTM on T=2, B=1, d=1, H=1 with peepholes against the formulas of docs/model-math.md
 * (this pins the gate order i, c̃, f, o and the attribute meanings), then BlockLSTMGrad's shapes.
 */
function probeBlockLstm(ops: NativeOps): void {
  runBlockLstmProbe(ops);
}

/**
 * LSTMBlockCell (one step) gives BlockLSTM's first step, and the per-step LSTMBlockCellGrad
 * backward (cellGradients) gives BlockLSTMGrad's gradients.
 */
function probeLstmCell(ops: NativeOps): void {
  const { inputs, outs, grads, hGrad, csLastGrad } = runBlockLstmProbe(ops);
  const [x, c0, h0, W, U, b, wci, wcf, wco] = inputs;
  const step = ops.execute(
    'LSTMBlockCell',
    blockLstmForwardAttrs(ops, true),
    [x.slice([0, 0, 0], [1, 1, 1]).reshape([1, 1]), c0, h0, tf.concat([W, U], 0), wci, wcf, wco, b],
    BLOCK_LSTM_OUTPUTS,
  );
  expectShapes(
    'LSTMBlockCell',
    step,
    Array.from({ length: BLOCK_LSTM_OUTPUTS }, () => [1, 1]),
  );
  step.forEach((t, k) =>
    expectClose(`LSTMBlockCell output ${k}`, t.dataSync(), [outs[k]!.dataSync()[0]!]),
  );
  const cell = cellGradients(ops, true, [...inputs, ...outs], hGrad, csLastGrad);
  // BlockLSTMGrad order: x, cs_prev, h_prev, w = [W; U], wci, wcf, wco, b.
  const want = grads.map((t) => Array.from(t.dataSync()));
  const got = [
    cell[0]!,
    cell[1]!,
    cell[2]!,
    tf.concat([cell[3]!, cell[4]!], 0),
    cell[6]!,
    cell[7]!,
    cell[8]!,
    cell[5]!,
  ].map((t) => Array.from(t.dataSync()));
  want.forEach((w, k) => expectClose(`LSTMBlockCellGrad loop gradient ${k}`, got[k]!, w));
}

/**
 * One GRUBlockCell step on B=1, d=1, H=1 against docs/model-math.md; GRUBlockCellGrad's h_prev
 * gradient against a central difference of that formula, and the same gradients when the op is
 * given an empty x and the recurrent weights only (as ./gru-block-sequence.ts calls it).
 */
function probeGruBlock(ops: NativeOps): void {
  const [x, h] = [0.7, -0.4];
  const [wr, wu, ur, uu, br, bu] = [0.3, -0.6, 0.5, 0.2, 0.1, -0.2];
  const [wc, uc, bc] = [0.8, -0.7, 0.05];
  const step = (hp: number) => {
    const r = sigmoid(x * wr + hp * ur + br);
    const u = sigmoid(x * wu + hp * uu + bu);
    const c = Math.tanh(x * wc + r * hp * uc + bc);
    return { r, u, c, h: u * hp + (1 - u) * c };
  };
  const want = step(h);
  const dhPrev = (step(h + 1e-4).h - step(h - 1e-4).h) / 2e-4;
  const attrs = [ops.typeFloat];
  const inputs = [
    tf.tensor2d([x], [1, 1]),
    tf.tensor2d([h], [1, 1]),
    tf.tensor2d([wr, wu, ur, uu], [2, 2]),
    tf.tensor2d([wc, uc], [2, 1]),
    tf.tensor1d([br, bu]),
    tf.tensor1d([bc]),
  ];
  const outs = ops.execute('GRUBlockCell', attrs, inputs, 4);
  expectShapes('GRUBlockCell', outs, [
    [1, 1],
    [1, 1],
    [1, 1],
    [1, 1],
  ]);
  expectClose(
    'GRUBlockCell r, u, c, h',
    outs.map((t) => t.dataSync()[0]!),
    [want.r, want.u, want.c, want.h],
  );
  const [r, u, c] = [outs[0]!, outs[1]!, outs[2]!];
  const full = ops.execute('GRUBlockCellGrad', attrs, [...inputs, r, u, c, tf.ones([1, 1])], 4);
  expectShapes('GRUBlockCellGrad', full, [
    [1, 1],
    [1, 1],
    [1, 1],
    [1, 2],
  ]);
  expectClose('GRUBlockCellGrad d_h_prev', full[1]!.dataSync(), [dhPrev]);
  const recurrentOnly = ops.execute(
    'GRUBlockCellGrad',
    attrs,
    [
      tf.zeros([1, 0]),
      inputs[1]!,
      tf.tensor2d([ur, uu], [1, 2]),
      tf.tensor2d([uc], [1, 1]),
      inputs[4]!,
      inputs[5]!,
      r,
      u,
      c,
      tf.ones([1, 1]),
    ],
    4,
  );
  for (const k of [1, 2, 3]) {
    expectClose(`GRUBlockCellGrad (empty x) output ${k}`, recurrentOnly[k]!.dataSync(), [
      ...full[k]!.dataSync(),
    ]);
  }
}
