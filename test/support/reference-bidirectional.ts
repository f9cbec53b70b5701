/**
 * An independent, loop-based float64 reference of the bidirectional tag/classify model, written
 * from docs/model-math.md (the cell equations) and docs/design.md ("Bidirectional encoders on
 * segments") alone: no tfjs and no code shared with shared/model/. Row-vector convention
 * `y = x W + b`, W row-major [in, out]. Cells: rnn, gru, lstm (no peepholes, no coupled gates).
 *
 * Per row, the real steps are the run of validMask = 1 [s, e). Layer l reads x_t (layer 0: the
 * embedding row or the projected features; above: [h→_t, h←_t] of the layer below); the forward
 * direction runs t = s..e-1 and the backward one t = e-1..s, each from h = c = 0. The head reads
 * [h→_t, h←_t] of the top layer at every real step (tag) or [h→_(e-1), h←_s] at every step
 * (classify); padded steps of a tag row read zeros. Loss: mean softmax cross-entropy over lossMask.
 */
import type { ModelSpec } from '../../shared/model/model-spec.js';
import type { TrainingBatch } from '../../shared/model/training-batch.js';

export type Float64Params = Map<string, Float64Array>;

/** Parameter shapes of a bidirectional model, by the names of docs/design.md. */
export function bidirectionalReferenceShapes(spec: ModelSpec): Map<string, number[]> {
  const H = spec.hidden;
  const shapes = new Map<string, number[]>();
  if (spec.inputKind === 'tokens') shapes.set('embedding', [spec.vocabSize + 1, spec.embedding]);
  else {
    shapes.set('input/kernel', [spec.featureSize, spec.embedding]);
    shapes.set('input/bias', [spec.embedding]);
  }
  for (let l = 0; l < spec.layers; l++) {
    const d = l === 0 ? spec.embedding : 2 * H;
    for (const dir of ['forward', 'backward']) {
      const p = `layer${l}/${dir}/`;
      if (spec.cell === 'rnn') {
        shapes.set(p + 'W', [d, H]);
        shapes.set(p + 'U', [H, H]);
        shapes.set(p + 'b', [H]);
      } else if (spec.cell === 'lstm') {
        shapes.set(p + 'W', [d, 4 * H]);
        shapes.set(p + 'U', [H, 4 * H]);
        shapes.set(p + 'b', [4 * H]);
      } else {
        shapes.set(p + 'Wru', [d, 2 * H]);
        shapes.set(p + 'Uru', [H, 2 * H]);
        shapes.set(p + 'bru', [2 * H]);
        shapes.set(p + 'Wc', [d, H]);
        shapes.set(p + 'Uc', [H, H]);
        shapes.set(p + 'bc', [H]);
      }
    }
  }
  shapes.set('head/W', [2 * H, spec.outputSize]);
  shapes.set('head/b', [spec.outputSize]);
  return shapes;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** x M[:, from..from+n) + bias[from..from+n), M row-major with `cols` columns. */
function affine(
  x: ArrayLike<number>,
  M: Float64Array,
  cols: number,
  bias: Float64Array | undefined,
  from: number,
  n: number,
): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = bias ? bias[from + j]! : 0;
    for (let k = 0; k < x.length; k++) s += x[k]! * M[k * cols + from + j]!;
    out[j] = s;
  }
  return out;
}

/** One cell step in float64: returns [h', c'] (c' empty for rnn/gru). */
function cellStep(
  cell: ModelSpec['cell'],
  P: (name: string) => Float64Array,
  x: ArrayLike<number>,
  h: Float64Array,
  c: Float64Array,
  H: number,
): [Float64Array, Float64Array] {
  if (cell === 'rnn') {
    const a = affine(x, P('W'), H, P('b'), 0, H);
    const r = affine(h, P('U'), H, undefined, 0, H);
    return [a.map((v, j) => Math.tanh(v + r[j]!)), c];
  }
  if (cell === 'gru') {
    const xru = affine(x, P('Wru'), 2 * H, P('bru'), 0, 2 * H);
    const hru = affine(h, P('Uru'), 2 * H, undefined, 0, 2 * H);
    const r = new Float64Array(H);
    const u = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      r[j] = sigmoid(xru[j]! + hru[j]!);
      u[j] = sigmoid(xru[H + j]! + hru[H + j]!);
    }
    const rh = h.map((v, j) => v * r[j]!);
    const xc = affine(x, P('Wc'), H, P('bc'), 0, H);
    const hc = affine(rh, P('Uc'), H, undefined, 0, H);
    const next = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const cand = Math.tanh(xc[j]! + hc[j]!);
      next[j] = u[j]! * h[j]! + (1 - u[j]!) * cand;
    }
    return [next, c];
  }
  // LSTM, gate blocks i, c̃, f, o.
  const z = affine(x, P('W'), 4 * H, P('b'), 0, 4 * H);
  const zh = affine(h, P('U'), 4 * H, undefined, 0, 4 * H);
  const hNext = new Float64Array(H);
  const cNext = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    const i = sigmoid(z[j]! + zh[j]!);
    const g = Math.tanh(z[H + j]! + zh[H + j]!);
    const f = sigmoid(z[2 * H + j]! + zh[2 * H + j]!);
    const o = sigmoid(z[3 * H + j]! + zh[3 * H + j]!);
    cNext[j] = f * c[j]! + i * g;
    hNext[j] = o * Math.tanh(cNext[j]!);
  }
  return [hNext, cNext];
}

export interface BidirectionalReferenceResult {
  /** [B*T*O] logits. */
  readonly outputs: Float64Array;
  readonly loss: number;
  readonly count: number;
}

/** Forward pass and mean loss of the bidirectional model in float64 (see the module comment). */
export function referenceBidirectional(
  spec: ModelSpec,
  params: Float64Params,
  batch: TrainingBatch,
): BidirectionalReferenceResult {
  if (spec.cell === 'lstm' && (spec.peepholes || spec.coupledGates))
    throw new Error('reference: peepholes and coupled gates are not modelled here');
  const { batchSize: B, steps: T } = batch;
  const H = spec.hidden;
  const O = spec.outputSize;
  const E = spec.embedding;
  const get = (name: string): Float64Array => {
    const v = params.get(name);
    if (!v) throw new Error(`reference: parameter ${name} missing`);
    return v;
  };
  const outputs = new Float64Array(B * T * O);
  let lossSum = 0;
  let count = 0;
  for (let b = 0; b < B; b++) {
    let s = 0;
    while (s < T && batch.validMask[b * T + s] === 0) s++;
    let e = s;
    while (e < T && batch.validMask[b * T + e] !== 0) e++;
    // Layer-0 inputs of the real steps.
    let xs: Float64Array[] = [];
    for (let t = s; t < e; t++) {
      if (spec.inputKind === 'tokens') {
        const id = batch.tokens![b * T + t]!;
        xs.push(get('embedding').slice(id * E, (id + 1) * E));
      } else {
        const f = batch.features!.subarray(
          (b * T + t) * spec.featureSize,
          (b * T + t + 1) * spec.featureSize,
        );
        xs.push(affine(f, get('input/kernel'), E, get('input/bias'), 0, E));
      }
    }
    let forwardLast: Float64Array = new Float64Array(H);
    let backwardFirst: Float64Array = new Float64Array(H);
    for (let l = 0; l < spec.layers; l++) {
      const run = (dir: 'forward' | 'backward'): Float64Array[] => {
        const P = (n: string): Float64Array => get(`layer${l}/${dir}/${n}`);
        const hs: Float64Array[] = new Array<Float64Array>(xs.length);
        let h: Float64Array = new Float64Array(H);
        let c: Float64Array = new Float64Array(H);
        const order = xs.map((_, i) => (dir === 'forward' ? i : xs.length - 1 - i));
        for (const i of order) {
          [h, c] = cellStep(spec.cell, P, xs[i]!, h, c, H);
          hs[i] = h;
        }
        return hs;
      };
      const fw = run('forward');
      const bw = run('backward');
      forwardLast = fw[fw.length - 1] ?? new Float64Array(H);
      backwardFirst = bw[0] ?? new Float64Array(H);
      xs = fw.map((f, i) => {
        const both = new Float64Array(2 * H);
        both.set(f, 0);
        both.set(bw[i]!, H);
        return both;
      });
    }
    for (let t = 0; t < T; t++) {
      let feature: Float64Array = new Float64Array(2 * H);
      if (spec.task === 'classify') {
        feature.set(forwardLast, 0);
        feature.set(backwardFirst, H);
      } else if (t >= s && t < e) feature = xs[t - s]!;
      const logits = affine(feature, get('head/W'), O, get('head/b'), 0, O);
      outputs.set(logits, (b * T + t) * O);
      const weight = batch.lossMask[b * T + t]!;
      if (weight === 0) continue;
      const max = Math.max(...logits);
      let z = 0;
      for (const v of logits) z += Math.exp(v - max);
      const target = batch.classTargets![b * T + t]!;
      lossSum += weight * -(logits[target]! - max - Math.log(z));
      count += weight;
    }
  }
  return { outputs, loss: count === 0 ? 0 : lossSum / count, count };
}

/** Central finite differences (float64) of the reference loss at the chosen entries. */
export function bidirectionalFiniteDifferences(
  spec: ModelSpec,
  params: Float64Params,
  batch: TrainingBatch,
  entries: Map<string, number[]>,
  eps = 1e-6,
): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, indices] of entries) {
    const values = params.get(name)!;
    out.set(
      name,
      Float64Array.from(indices, (i) => {
        const saved = values[i]!;
        values[i] = saved + eps;
        const plus = referenceBidirectional(spec, params, batch).loss;
        values[i] = saved - eps;
        const minus = referenceBidirectional(spec, params, batch).loss;
        values[i] = saved;
        return (plus - minus) / (2 * eps);
      }),
    );
  }
  return out;
}
