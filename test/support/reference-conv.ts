/**
 * An independent, loop-based float64 reference of the convolutional front end, written from
 * docs/model-math.md ("Convolutional front end") alone: no tfjs and no code of shared/model/conv.
 * For one key row of a batch it lists the raw inputs the convolution reads — the context held in
 * the tail of the start state, then the row's real steps — embeds them (a zero vector for an empty
 * context slot), and applies each stacked convolution as explicit sums over taps and channels.
 */
import type { ModelSpec } from '../../shared/model/model-spec.js';
import type { TrainingBatch } from '../../shared/model/training-batch.js';

type Params = Map<string, Float64Array>;

/** One raw input: a token id, a standardised feature vector, or nothing (before the start). */
type RawInput = { token: number } | { features: Float64Array } | undefined;

/** layers · (kernelWidth − 1) · dilation, and the floats one context step takes in the state. */
export function referenceContextShape(spec: ModelSpec): { steps: number; width: number } {
  const conv = spec.conv;
  if (!conv) return { steps: 0, width: 0 };
  return {
    steps: conv.layers * (conv.kernelWidth - 1) * conv.dilation,
    width: spec.inputKind === 'tokens' ? 1 : 1 + spec.featureSize,
  };
}

/** Shapes of the front end's parameters: conv{l}/kernel [k, C_in, C_out], conv{l}/bias [C_out]. */
export function referenceConvShapes(spec: ModelSpec): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const conv = spec.conv;
  if (!conv) return shapes;
  for (let l = 0; l < conv.layers; l++) {
    const cin = l === 0 ? spec.embedding : conv.channels;
    shapes.set(`conv${l}/kernel`, [conv.kernelWidth, cin, conv.channels]);
    shapes.set(`conv${l}/bias`, [conv.channels]);
  }
  return shapes;
}

/**
 * The first recurrent layer's input at every real step of row `b` (undefined at padded steps),
 * and the row's context after its last step (the state's encoding: id + 1 or [1, features]).
 */
export function referenceConvRow(
  spec: ModelSpec,
  params: Params,
  batch: TrainingBatch,
  b: number,
): { inputs: Array<Float64Array | undefined>; nextContext: Float64Array } {
  const conv = spec.conv!;
  const { steps: C, width: w } = referenceContextShape(spec);
  const T = batch.steps;
  const E = spec.embedding;
  const F = spec.featureSize;
  const S = batch.initialState.length / batch.batchSize;
  const tail = batch.initialState.subarray((b + 1) * S - C * w, (b + 1) * S);

  const raw: RawInput[] = [];
  for (let j = 0; j < C; j++) {
    const first = tail[j * w]!;
    if (first === 0) raw.push(undefined);
    else if (spec.inputKind === 'tokens') raw.push({ token: first - 1 });
    else raw.push({ features: Float64Array.from(tail.subarray(j * w + 1, (j + 1) * w)) });
  }
  const realSteps: number[] = [];
  for (let t = 0; t < T; t++) {
    if (batch.validMask[b * T + t] === 0) continue;
    realSteps.push(t);
    if (spec.inputKind === 'tokens') raw.push({ token: batch.tokens![b * T + t]! });
    else
      raw.push({
        features: Float64Array.from(batch.features!.subarray((b * T + t) * F, (b * T + t + 1) * F)),
      });
  }

  // The input layer, row-vector convention x = f · kernel + bias.
  let sequence: Float64Array[] = raw.map((input) => {
    const x = new Float64Array(E);
    if (input === undefined) return x;
    if ('token' in input) {
      const table = params.get('embedding')!;
      for (let e = 0; e < E; e++) x[e] = table[input.token * E + e]!;
      return x;
    }
    const kernel = params.get('input/kernel')!;
    const bias = params.get('input/bias')!;
    for (let e = 0; e < E; e++) {
      let s = bias[e]!;
      for (let f = 0; f < F; f++) s += input.features[f]! * kernel[f * E + e]!;
      x[e] = s;
    }
    return x;
  });

  // Each layer: y[m] = act(bias + Σ_i Σ_c u[m + i·d][c] · kernel[i, c, o]), one step shorter per
  // (k − 1)·d, so that after every layer the last outputs belong to the real steps.
  const k = conv.kernelWidth;
  const d = conv.dilation;
  for (let l = 0; l < conv.layers; l++) {
    const kernel = params.get(`conv${l}/kernel`)!;
    const bias = params.get(`conv${l}/bias`)!;
    const cin = sequence[0]!.length;
    const cout = conv.channels;
    const next: Float64Array[] = [];
    for (let m = 0; m + (k - 1) * d < sequence.length; m++) {
      const y = new Float64Array(cout);
      for (let o = 0; o < cout; o++) {
        let s = bias[o]!;
        for (let i = 0; i < k; i++) {
          const u = sequence[m + i * d]!;
          for (let c = 0; c < cin; c++) s += u[c]! * kernel[(i * cin + c) * cout + o]!;
        }
        y[o] =
          conv.activation === 'tanh'
            ? Math.tanh(s)
            : conv.activation === 'relu'
              ? Math.max(0, s)
              : s;
      }
      next.push(y);
    }
    sequence = next;
  }

  const inputs: Array<Float64Array | undefined> = new Array<Float64Array | undefined>(T);
  realSteps.forEach((t, m) => (inputs[t] = sequence[m]));

  const nextContext = new Float64Array(C * w);
  raw.slice(raw.length - C).forEach((input, j) => {
    if (input === undefined) return;
    if ('token' in input) nextContext[j * w] = input.token + 1;
    else {
      nextContext[j * w] = 1;
      nextContext.set(input.features, j * w + 1);
    }
  });
  return { inputs, nextContext };
}
