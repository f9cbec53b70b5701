/**
 * An independent, loop-based float64 reference of the recurrent model, written from
 * docs/model-math.md alone (no tfjs, no code shared with shared/model/ except the plain spec and
 * batch types). It is deliberately naive: every product is an explicit loop over row-vector
 * conventions `y = x W + b` with W stored row-major as [in, out].
 *
 * Used by the gradient, initialisation and dropout tests as the ground truth.
 */
import type { ModelSpec } from '../../shared/model/model-spec.js';
import type { DropoutMasks, TrainingBatch } from '../../shared/model/training-batch.js';
import { referenceContextShape, referenceConvRow, referenceConvShapes } from './reference-conv.js';

export type Float64Params = Map<string, Float64Array>;

export interface ReferenceResult {
  /** [B*T*outputSize]: logits (classification) or standardised values (forecast), every step. */
  readonly outputs: Float64Array;
  /** [B*S]: state after the last step, layout [h_0, c_0, h_1, c_1, ...] per key. */
  readonly finalState: Float64Array;
  /** Mean of the per-step losses over the loss mask (0 when the mask is empty). */
  readonly loss: number;
  /** Sum over steps of lossMask * stepLoss. */
  readonly lossSum: number;
  /** Sum of the loss mask. */
  readonly count: number;
  /** [B*T] unmasked per-step losses. */
  readonly stepLosses: Float64Array;
}

export interface ReferenceOptions {
  /**
   * Replace the batch's dropout masks at chosen steps (used only to build deliberately WRONG
   * variants that prove a test is sensitive to masks changing across steps). Return undefined to
   * use the batch's masks at that step.
   */
  readonly masksAtStep?: (step: number) => DropoutMasks | undefined;
  /**
   * Deliberately wrong variant: also apply the recurrent mask to the carried state (the h that is
   * passed on / mixed into h_t), not only where h_{t-1} enters the recurrent products.
   */
  readonly recurrentMaskOnCarriedState?: boolean;
}

/** Shapes of every parameter as docs/model-math.md names them. */
export function referenceParameterShapes(spec: ModelSpec): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const H = spec.hidden;
  const E = spec.embedding;
  if (spec.inputKind === 'tokens') {
    shapes.set('embedding', [spec.vocabSize + 1, E]);
  } else {
    shapes.set('input/kernel', [spec.featureSize, E]);
    shapes.set('input/bias', [E]);
  }
  for (const [name, shape] of referenceConvShapes(spec)) shapes.set(name, shape);
  for (let l = 0; l < spec.layers; l++) {
    const d = l === 0 ? (spec.conv?.channels ?? E) : H;
    const p = `layer${l}/`;
    if (spec.cell === 'rnn') {
      shapes.set(p + 'W', [d, H]);
      shapes.set(p + 'U', [H, H]);
      shapes.set(p + 'b', [H]);
    } else if (spec.cell === 'lstm') {
      const g = spec.coupledGates ? 3 : 4;
      shapes.set(p + 'W', [d, g * H]);
      shapes.set(p + 'U', [H, g * H]);
      shapes.set(p + 'b', [g * H]);
      if (spec.peepholes) {
        shapes.set(p + 'wci', [H]);
        if (!spec.coupledGates) shapes.set(p + 'wcf', [H]);
        shapes.set(p + 'wco', [H]);
      }
    } else {
      shapes.set(p + 'Wru', [d, 2 * H]);
      shapes.set(p + 'Uru', [H, 2 * H]);
      shapes.set(p + 'bru', [2 * H]);
      shapes.set(p + 'Wc', [d, H]);
      shapes.set(p + 'Uc', [H, H]);
      shapes.set(p + 'bc', [H]);
    }
  }
  shapes.set('head/W', [H, spec.outputSize]);
  shapes.set('head/b', [spec.outputSize]);
  return shapes;
}

/** Column offsets of the LSTM gate blocks inside W/U/b (units of H). */
export function lstmGateBlocks(coupled: boolean): {
  i: number;
  c: number;
  f: number | undefined;
  o: number;
} {
  return coupled ? { i: 0, c: 1, f: undefined, o: 2 } : { i: 0, c: 1, f: 2, o: 3 };
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function need(params: Float64Params, name: string, length: number): Float64Array {
  const value = params.get(name);
  if (value === undefined) throw new Error(`reference model: parameter ${name} missing`);
  if (value.length !== length) {
    throw new Error(
      `reference model: parameter ${name} has ${value.length} entries, expected ${length}`,
    );
  }
  return value;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** acc[j] += sum_k x[k] * M[k, j] for M row-major [x.length, cols], columns colStart..colStart+n. */
function addVecMat(
  acc: Float64Array,
  x: Float64Array,
  M: Float64Array,
  cols: number,
  colStart: number,
  n: number,
): void {
  for (let k = 0; k < x.length; k++) {
    const xk = x[k]!;
    if (xk === 0) continue;
    const row = k * cols + colStart;
    for (let j = 0; j < n; j++) acc[j] = acc[j]! + xk * M[row + j]!;
  }
}

function masked(x: Float64Array, mask: Float32Array | undefined, b: number): Float64Array {
  if (mask === undefined) return x;
  const n = x.length;
  if (mask.length % n !== 0)
    throw new Error(`reference model: mask of length ${mask.length} does not fit rows of ${n}`);
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = x[j]! * mask[b * n + j]!;
  return out;
}

/** Forward pass over the whole batch in float64, with the mean masked loss. */
export function referenceForward(
  spec: ModelSpec,
  params: Float64Params,
  batch: TrainingBatch,
  options: ReferenceOptions = {},
): ReferenceResult {
  const B = batch.batchSize;
  const T = batch.steps;
  const H = spec.hidden;
  const E = spec.embedding;
  const F = spec.featureSize;
  const O = spec.outputSize;
  const L = spec.layers;
  const lstm = spec.cell === 'lstm';
  const perLayer = lstm ? 2 * H : H;
  const context = referenceContextShape(spec);
  const S = L * perLayer + context.steps * context.width; // the conv context follows the layers
  const shapes = referenceParameterShapes(spec);
  const P = (name: string): Float64Array => need(params, name, size(shapes.get(name)!));
  for (const name of params.keys()) {
    if (!shapes.has(name)) throw new Error(`reference model: unexpected parameter ${name}`);
  }
  if (batch.initialState.length !== B * S) {
    throw new Error(
      `reference model: initialState has ${batch.initialState.length} entries, expected ${B * S}`,
    );
  }

  const outputs = new Float64Array(B * T * O);
  const finalState = new Float64Array(B * S);
  const stepLosses = new Float64Array(B * T);
  let lossSum = 0;
  let count = 0;

  for (let b = 0; b < B; b++) {
    const convRow = spec.conv ? referenceConvRow(spec, params, batch, b) : undefined;
    if (convRow) finalState.set(convRow.nextContext, (b + 1) * S - convRow.nextContext.length);
    // Per-layer state of this key.
    const h: Float64Array[] = [];
    const c: Float64Array[] = [];
    for (let l = 0; l < L; l++) {
      const base = b * S + l * perLayer;
      h.push(Float64Array.from(batch.initialState.subarray(base, base + H)));
      c.push(
        lstm
          ? Float64Array.from(batch.initialState.subarray(base + H, base + 2 * H))
          : new Float64Array(0),
      );
    }

    for (let t = 0; t < T; t++) {
      const bt = b * T + t;
      const valid = batch.validMask[bt]! !== 0;
      if (valid) {
        // ---- input layer ----
        let x: Float64Array = new Float64Array(E);
        if (convRow) {
          x = convRow.inputs[t]!;
        } else if (spec.inputKind === 'tokens') {
          if (batch.tokens === undefined)
            throw new Error('reference model: tokens input without batch.tokens');
          const id = batch.tokens[bt]!;
          if (id < 0 || id > spec.vocabSize)
            throw new Error(`reference model: token id ${id} out of range`);
          const emb = P('embedding');
          for (let e = 0; e < E; e++) x[e] = emb[id * E + e]!;
        } else {
          if (batch.features === undefined)
            throw new Error('reference model: features input without batch.features');
          const kernel = P('input/kernel');
          const bias = P('input/bias');
          const f = Float64Array.from(batch.features.subarray(bt * F, bt * F + F));
          x.set(bias);
          addVecMat(x, f, kernel, E, 0, E);
        }

        const masks = options.masksAtStep?.(t) ?? batch.dropoutMasks;
        // ---- stacked cells ----
        for (let l = 0; l < L; l++) {
          const p = `layer${l}/`;
          const xin = masked(x, masks?.input[l], b);
          const hPrev = h[l]!;
          const hRec = masked(hPrev, masks?.recurrent[l], b);
          const hCarried = options.recurrentMaskOnCarriedState ? hRec : hPrev;
          const hNew = new Float64Array(H);
          if (spec.cell === 'rnn') {
            const z = Float64Array.from(P(p + 'b'));
            addVecMat(z, xin, P(p + 'W'), H, 0, H);
            addVecMat(z, hRec, P(p + 'U'), H, 0, H);
            for (let j = 0; j < H; j++) hNew[j] = Math.tanh(z[j]!);
          } else if (spec.cell === 'lstm') {
            const g = spec.coupledGates ? 3 : 4;
            const blocks = lstmGateBlocks(spec.coupledGates);
            const z = Float64Array.from(P(p + 'b'));
            addVecMat(z, xin, P(p + 'W'), g * H, 0, g * H);
            addVecMat(z, hRec, P(p + 'U'), g * H, 0, g * H);
            const cPrev = options.recurrentMaskOnCarriedState
              ? masked(c[l]!, masks?.recurrent[l], b)
              : c[l]!;
            const wci = spec.peepholes ? P(p + 'wci') : undefined;
            const wcf = spec.peepholes && !spec.coupledGates ? P(p + 'wcf') : undefined;
            const wco = spec.peepholes ? P(p + 'wco') : undefined;
            const cNew = new Float64Array(H);
            for (let j = 0; j < H; j++) {
              const i = sigmoid(z[blocks.i * H + j]! + (wci ? cPrev[j]! * wci[j]! : 0));
              const f =
                blocks.f === undefined
                  ? 1 - i
                  : sigmoid(z[blocks.f * H + j]! + (wcf ? cPrev[j]! * wcf[j]! : 0));
              const cTilde = Math.tanh(z[blocks.c * H + j]!);
              cNew[j] = f * cPrev[j]! + i * cTilde;
              const o = sigmoid(z[blocks.o * H + j]! + (wco ? cNew[j]! * wco[j]! : 0));
              hNew[j] = o * Math.tanh(cNew[j]!);
            }
            c[l] = cNew;
          } else {
            const ru = Float64Array.from(P(p + 'bru'));
            addVecMat(ru, xin, P(p + 'Wru'), 2 * H, 0, 2 * H);
            addVecMat(ru, hRec, P(p + 'Uru'), 2 * H, 0, 2 * H);
            for (let j = 0; j < 2 * H; j++) ru[j] = sigmoid(ru[j]!);
            const rh = new Float64Array(H);
            for (let j = 0; j < H; j++) rh[j] = ru[j]! * hRec[j]!; // r ⊙ h_{t-1} ⊙ m_h
            const zc = Float64Array.from(P(p + 'bc'));
            addVecMat(zc, xin, P(p + 'Wc'), H, 0, H);
            addVecMat(zc, rh, P(p + 'Uc'), H, 0, H);
            for (let j = 0; j < H; j++) {
              const u = ru[H + j]!;
              hNew[j] = u * hCarried[j]! + (1 - u) * Math.tanh(zc[j]!);
            }
          }
          h[l] = hNew;
          x = hNew;
        }
      }
      // At padded steps the state passed through unchanged; the head still reads the top h.

      // ---- head ----
      const top = h[L - 1]!;
      const y = Float64Array.from(P('head/b'));
      addVecMat(y, top, P('head/W'), O, 0, O);
      outputs.set(y, bt * O);
      let stepLoss: number;
      if (spec.task === 'forecast') {
        if (batch.regressionTargets === undefined)
          throw new Error('reference model: forecast without regressionTargets');
        let se = 0;
        for (let k = 0; k < O; k++) {
          const d = y[k]! - batch.regressionTargets[bt * O + k]!;
          se += d * d;
        }
        stepLoss = se / O;
      } else {
        if (batch.classTargets === undefined)
          throw new Error('reference model: classification without classTargets');
        let max = -Infinity;
        for (let k = 0; k < O; k++) max = Math.max(max, y[k]!);
        let sum = 0;
        for (let k = 0; k < O; k++) sum += Math.exp(y[k]! - max);
        const target = batch.classTargets[bt]!;
        stepLoss = max + Math.log(sum) - y[target]!;
      }
      stepLosses[bt] = stepLoss;
      const m = batch.lossMask[bt]!;
      if (m !== 0) {
        lossSum += m * stepLoss;
        count += m;
      }
    }

    for (let l = 0; l < L; l++) {
      const base = b * S + l * perLayer;
      finalState.set(h[l]!, base);
      if (lstm) finalState.set(c[l]!, base + H);
    }
  }

  return { outputs, finalState, loss: count > 0 ? lossSum / count : 0, lossSum, count, stepLosses };
}
