/**
 * An independent float64 reference of the encoder–decoder model, written from the equations of
 * docs/design.md ("Sequence to sequence") with explicit loops (row vectors, y = x W + b, W stored
 * row-major [in, out]). It processes every pair on its own, unpadded: no masks at all, so it also
 * checks that the model's padding and masking change nothing.
 */
import type { Seq2seqSpec } from '../../shared/model/seq2seq/seq2seq-spec.js';

export type Float64Params = Map<string, Float64Array>;

export interface ReferencePair {
  readonly source: readonly number[];
  readonly target: readonly number[];
}

/** x W (+ b) for a row vector x of length W.rows. */
function affine(x: Float64Array, W: Float64Array, cols: number, b?: Float64Array): Float64Array {
  const y = new Float64Array(cols);
  if (b) y.set(b);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    for (let j = 0; j < cols; j++) y[j]! += xi * W[i * cols + j]!;
  }
  return y;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

interface CellState {
  h: Float64Array;
  c: Float64Array;
}

function get(params: Float64Params, name: string): Float64Array {
  const p = params.get(name);
  if (!p) throw new Error(`reference: parameter ${name} missing`);
  return p;
}

/** One step of one layer, from the cell equations (LSTM gate order i, c̃, f, o). */
function cellStep(
  spec: Seq2seqSpec,
  params: Float64Params,
  prefix: string,
  H: number,
  x: Float64Array,
  s: CellState,
): CellState {
  if (spec.cell === 'rnn') {
    const a = affine(x, get(params, prefix + 'W'), H, get(params, prefix + 'b'));
    const r = affine(s.h, get(params, prefix + 'U'), H);
    return { h: a.map((v, j) => Math.tanh(v + r[j]!)), c: s.c };
  }
  if (spec.cell === 'lstm') {
    const z = affine(x, get(params, prefix + 'W'), 4 * H, get(params, prefix + 'b'));
    const r = affine(s.h, get(params, prefix + 'U'), 4 * H);
    const h = new Float64Array(H);
    const c = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = sigmoid(z[j]! + r[j]!);
      const g = Math.tanh(z[H + j]! + r[H + j]!);
      const f = sigmoid(z[2 * H + j]! + r[2 * H + j]!);
      const o = sigmoid(z[3 * H + j]! + r[3 * H + j]!);
      c[j] = f * s.c[j]! + i * g;
      h[j] = o * Math.tanh(c[j]!);
    }
    return { h, c };
  }
  // GRU: [r, u] = σ(x Wru + h Uru + bru); c̃ = tanh(x Wc + (r ⊙ h) Uc + bc); h' = u h + (1-u) c̃
  const zru = affine(x, get(params, prefix + 'Wru'), 2 * H, get(params, prefix + 'bru'));
  const rru = affine(s.h, get(params, prefix + 'Uru'), 2 * H);
  const reset = new Float64Array(H);
  const update = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    reset[j] = sigmoid(zru[j]! + rru[j]!);
    update[j] = sigmoid(zru[H + j]! + rru[H + j]!);
  }
  const rh = s.h.map((v, j) => v * reset[j]!);
  const zc = affine(x, get(params, prefix + 'Wc'), H, get(params, prefix + 'bc'));
  const rc = affine(rh, get(params, prefix + 'Uc'), H);
  const h = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    const cand = Math.tanh(zc[j]! + rc[j]!);
    h[j] = update[j]! * s.h[j]! + (1 - update[j]!) * cand;
  }
  return { h, c: s.c };
}

function row(table: Float64Array, id: number, width: number): Float64Array {
  return table.slice(id * width, (id + 1) * width);
}

/** Mean over all target steps (tokens and ends) of −ln p, in float64. */
export function referenceSeq2seqLoss(
  spec: Seq2seqSpec,
  params: Float64Params,
  pairs: readonly ReferencePair[],
): number {
  let sum = 0;
  let count = 0;
  for (const pair of pairs) {
    const losses = referencePairLosses(spec, params, pair);
    for (const l of losses) sum += l;
    count += losses.length;
  }
  return sum / count;
}

/** −ln p of each of the pair's target steps: its n tokens, then the end of target. */
export function referencePairLosses(
  spec: Seq2seqSpec,
  params: Float64Params,
  { source, target }: ReferencePair,
): number[] {
  const E = spec.embedding;
  const He = spec.encoderHidden;
  const H = spec.hidden;
  const L = spec.layers;
  const V = spec.targetVocabSize;
  // Encoder, one real step at a time.
  const order = spec.reverseSource ? [...source].reverse() : [...source];
  const embedded = order.map((id) => row(get(params, 'encoder/embedding'), id, E));
  const zero = (): CellState => ({ h: new Float64Array(He), c: new Float64Array(He) });
  /** One direction of one layer over `inputs` in the given order: its outputs and final state. */
  const runDirection = (prefix: string, inputs: Float64Array[]) => {
    let s = zero();
    const outputs = inputs.map((x) => (s = cellStep(spec, params, prefix, He, x, s)).h);
    return { outputs, final: s };
  };
  const enc: CellState[] = [];
  let memory: Float64Array[] = embedded;
  let bidirectionalEnds: Float64Array | undefined;
  for (let l = 0; l < L; l++) {
    if (spec.bidirectional) {
      const fwd = runDirection(`encoder/layer${l}/forward/`, memory);
      const bwd = runDirection(`encoder/layer${l}/backward/`, [...memory].reverse());
      const backwardOutputs = [...bwd.outputs].reverse();
      memory = fwd.outputs.map((h, t) => Float64Array.from([...h, ...backwardOutputs[t]!]));
      bidirectionalEnds = Float64Array.from([...fwd.final.h, ...bwd.final.h]);
    } else {
      const dir = runDirection(`encoder/layer${l}/`, memory);
      memory = dir.outputs;
      enc.push(dir.final);
    }
  }
  const encoderWidth = spec.bidirectional ? 2 * He : He;
  // Initial decoder state.
  let dec: CellState[];
  if (He === H && !spec.bidirectional) {
    dec = enc.map((s) => ({ h: s.h.slice(), c: s.c.slice() }));
  } else {
    const top = bidirectionalEnds ?? enc[L - 1]!.h;
    const all = affine(top, get(params, 'bridge/W'), L * H, get(params, 'bridge/b'));
    dec = Array.from({ length: L }, (_, l) => ({
      h: all.slice(l * H, (l + 1) * H).map(Math.tanh),
      c: new Float64Array(H),
    }));
  }
  const A = spec.attentionSize;
  const keys =
    spec.attention === 'additive'
      ? memory.map((m) => affine(m, get(params, 'attention/U'), A))
      : [];
  const losses: number[] = [];
  const inputs = [V, ...target];
  const wanted = [...target, V];
  for (let t = 0; t < inputs.length; t++) {
    let context: Float64Array | undefined;
    if (spec.attention === 'additive') {
      const q = affine(dec[L - 1]!.h, get(params, 'attention/W'), A);
      const v = get(params, 'attention/v');
      const scores = keys.map((k) => {
        let e = 0;
        for (let a = 0; a < A; a++) e += v[a]! * Math.tanh(q[a]! + k[a]!);
        return e;
      });
      const top = Math.max(...scores);
      const exps = scores.map((e) => Math.exp(e - top));
      const z = exps.reduce((a, b) => a + b, 0);
      context = new Float64Array(encoderWidth);
      memory.forEach((m, j) => {
        for (let i = 0; i < encoderWidth; i++) context![i]! += (exps[j]! / z) * m[i]!;
      });
    }
    const emb = row(get(params, 'decoder/embedding'), inputs[t]!, E);
    let x = context ? Float64Array.from([...emb, ...context]) : emb;
    dec = dec.map((s, l) => {
      const next = cellStep(spec, params, `decoder/layer${l}/`, H, x, s);
      x = next.h;
      return next;
    });
    const features = context ? Float64Array.from([...x, ...context]) : x;
    const logits = affine(features, get(params, 'output/W'), V + 1, get(params, 'output/b'));
    const top = Math.max(...logits);
    let z = 0;
    for (const l of logits) z += Math.exp(l - top);
    losses.push(-(logits[wanted[t]!]! - top - Math.log(z)));
  }
  return losses;
}
