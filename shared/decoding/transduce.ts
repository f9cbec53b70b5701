/**
 * Decoding a target for each source with an encoder–decoder model (docs/design.md, "Sequence to
 * sequence"): greedy, or beam search with width k, GNMT length normalisation α and an n-best
 * list. The beam search is the language model's own (beam-search.ts, BeamSearchRun) driven by the
 * shared batch loop (batched-steps.ts): every live beam of every source is one row of one decoder
 * step. A row's state is [source index, decoder state]: the index says which encoded source the
 * row attends to, so beams of many sources share a step. Greedy is written apart, as the
 * plain argmax loop, and is the reference beam width 1 is tested against.
 */
import { BeamSearchRun, checkBeamOptions, lengthNormalizer } from './beam-search.js';
import { runSteps, type BatchStepModel } from './batched-steps.js';
import { checkInteger, logOf } from './step-model.js';

/** What decoding needs of the model: Seq2seqModel fits; tests may hand-build one. */
export interface TransductionModel {
  readonly spec: { readonly targetVocabSize: number };
  readonly decoderStateSize: number;
  encode(sources: ReadonlyArray<readonly number[]>): EncodedBatch;
  decodeStep(
    encoded: EncodedBatch,
    rows: { sourceIndex: Int32Array; tokens: Int32Array; states: Float32Array },
  ): { probs: Float32Array; states: Float32Array };
}

export interface EncodedBatch {
  /** [N*S] each source's initial decoder state. */
  readonly initialStates: Float32Array;
  dispose(): void;
}

export type TransductionStrategy =
  | { readonly type: 'greedy' }
  | {
      readonly type: 'beam';
      readonly beamWidth: number;
      /** α of ((5 + length) / 6)^α; 0 ranks by log-probability. */
      readonly lengthPenalty: number;
      /** Hypotheses returned (≤ beamWidth; default 1). */
      readonly nBest?: number;
    };

export interface TransductionHypothesis {
  /** Target ids, without the end-of-target. */
  readonly tokens: number[];
  /** ln p of each emitted id, the end-of-target's last when `finished`. */
  readonly tokenLogProbs: number[];
  /** Σ tokenLogProbs: ln p(tokens, end | source) when finished. */
  readonly logProb: number;
  /** logProb / ((5 + emitted ids) / 6)^α: the ranking. */
  readonly score: number;
  /** True when it ended with end-of-target, false when it hit the length limit. */
  readonly finished: boolean;
}

export interface TransduceOptions {
  readonly model: TransductionModel;
  readonly sources: ReadonlyArray<readonly number[]>;
  readonly strategy: TransductionStrategy;
  /** Most target tokens per hypothesis (the end-of-target not counted). */
  readonly maxTargetLength: number;
}

/** Per source, its hypotheses, best first (one for greedy, nBest for beam). */
export function transduce({
  model,
  sources,
  strategy,
  maxTargetLength,
}: TransduceOptions): TransductionHypothesis[][] {
  checkInteger('maxTargetLength', maxTargetLength, 0, 'use the longest target expected, e.g. 50');
  if (strategy.type === 'beam') checkTransductionBeam(strategy);
  if (sources.length === 0) return [];
  const encoded = model.encode(sources);
  try {
    return strategy.type === 'greedy'
      ? greedyTransduce(model, encoded, sources.length, maxTargetLength)
      : beamTransduce(model, encoded, sources.length, maxTargetLength, strategy);
  } finally {
    encoded.dispose();
  }
}

/** Throws a RangeError naming the value, the reason and the fix unless the beam options are usable. */
export function checkTransductionBeam({
  beamWidth,
  lengthPenalty,
  nBest = 1,
}: {
  beamWidth: number;
  lengthPenalty: number;
  nBest?: number | undefined;
}): void {
  checkBeamOptions({ beamWidth, lengthPenalty });
  checkInteger('nBest', nBest, 1, 'ask for 1 (the best) up to beamWidth hypotheses');
  if (nBest > beamWidth)
    throw new RangeError(
      `nBest = ${nBest}: a beam of width ${beamWidth} keeps only ${beamWidth} hypotheses (fix: ask for at most ${beamWidth}, or widen the beam)`,
    );
}

function greedyTransduce(
  model: TransductionModel,
  encoded: EncodedBatch,
  count: number,
  maxTargetLength: number,
): TransductionHypothesis[][] {
  const V = model.spec.targetVocabSize;
  const S = model.decoderStateSize;
  const out = Array.from({ length: count }, () => ({
    tokens: [] as number[],
    logProbs: [] as number[],
    finished: false,
  }));
  let live = Array.from({ length: count }, (_, i) => i);
  let states = encoded.initialStates.slice();
  let inputs = new Int32Array(count).fill(V); // BOS
  for (let step = 0; step <= maxTargetLength && live.length > 0; step++) {
    const { probs, states: next } = model.decodeStep(encoded, {
      sourceIndex: Int32Array.from(live),
      tokens: inputs,
      states,
    });
    const stillLive: number[] = [];
    const keptStates: Float32Array[] = [];
    const keptInputs: number[] = [];
    live.forEach((source, r) => {
      const p = probs.subarray(r * (V + 1), (r + 1) * (V + 1));
      let best = 0;
      for (let id = 1; id <= V; id++) if (p[id]! > p[best]!) best = id;
      const hyp = out[source]!;
      hyp.logProbs.push(logOf(p[best]!));
      if (best === V) {
        hyp.finished = true;
        return;
      }
      hyp.tokens.push(best);
      // The length limit: max target tokens emitted, no end-of-target: stop unfinished.
      if (hyp.tokens.length === maxTargetLength + 1) {
        hyp.tokens.pop();
        hyp.logProbs.pop();
        return;
      }
      stillLive.push(source);
      keptStates.push(next.subarray(r * S, (r + 1) * S));
      keptInputs.push(best);
    });
    live = stillLive;
    states = new Float32Array(live.length * S);
    keptStates.forEach((s, i) => states.set(s, i * S));
    inputs = Int32Array.from(keptInputs);
  }
  return out.map(({ tokens, logProbs, finished }) => {
    const logProb = logProbs.reduce((a, b) => a + b, 0);
    return [{ tokens, tokenLogProbs: logProbs, logProb, score: logProb, finished }];
  });
}

function beamTransduce(
  model: TransductionModel,
  encoded: EncodedBatch,
  count: number,
  maxTargetLength: number,
  { beamWidth, lengthPenalty, nBest = 1 }: Extract<TransductionStrategy, { type: 'beam' }>,
): TransductionHypothesis[][] {
  const V = model.spec.targetVocabSize;
  const S = model.decoderStateSize;
  const stepModel = rowStepModel(model, encoded);
  // The first step (BOS from each source's initial state) gives every search its start.
  const start = stepModel.predictStep({
    batchSize: count,
    tokens: new Int32Array(count).fill(V),
    state: withSourceIndex(encoded.initialStates, count, S),
  });
  const searches = Array.from({ length: count }, (_, i) => {
    const run = new BeamSearchRun({
      beamWidth,
      // The end-of-target is one of the emitted ids.
      maxTokens: maxTargetLength + 1,
      lengthPenalty,
      stopTokens: [V],
    });
    run.start(
      start.state.slice(i * (S + 1), (i + 1) * (S + 1)),
      start.outputs.slice(i * (V + 1), (i + 1) * (V + 1)),
    );
    return run;
  });
  runSteps({
    model: stepModel,
    runs: searches,
    input: { kind: 'tokens' },
    outputSize: V + 1,
    checkOutput: () => undefined,
  });
  return searches.map((search) =>
    search
      .result()
      .hypotheses.slice(0, nBest)
      .map((h) => {
        const tokens = h.finished ? h.tokens.slice(0, -1) : h.tokens;
        // A hypothesis cut at maxTokens may end in a real token beyond maxTargetLength: drop it.
        const kept = Math.min(tokens.length, maxTargetLength);
        const tokenLogProbs = h.finished ? h.tokenLogProbs : h.tokenLogProbs.slice(0, kept);
        const logProb = h.finished ? h.logProb : tokenLogProbs.reduce((a, b) => a + b, 0);
        const score = h.finished
          ? h.score
          : logProb / lengthNormalizer(tokenLogProbs.length, lengthPenalty);
        return {
          tokens: tokens.slice(0, kept),
          tokenLogProbs,
          logProb,
          score,
          finished: h.finished,
        };
      }),
  );
}

/** The model as the batch loop sees it: a row's state is [source index, decoder state]. */
function rowStepModel(model: TransductionModel, encoded: EncodedBatch): BatchStepModel {
  const S = model.decoderStateSize;
  return {
    stateSize: S + 1,
    predictStep({ batchSize, tokens, state }) {
      const sourceIndex = new Int32Array(batchSize);
      const states = new Float32Array(batchSize * S);
      for (let r = 0; r < batchSize; r++) {
        sourceIndex[r] = state[r * (S + 1)]!;
        states.set(state.subarray(r * (S + 1) + 1, (r + 1) * (S + 1)), r * S);
      }
      const out = model.decodeStep(encoded, { sourceIndex, tokens: tokens!, states });
      const next = new Float32Array(batchSize * (S + 1));
      for (let r = 0; r < batchSize; r++) {
        next[r * (S + 1)] = sourceIndex[r]!;
        next.set(out.states.subarray(r * S, (r + 1) * S), r * (S + 1) + 1);
      }
      return { outputs: out.probs, state: next };
    },
  };
}

function withSourceIndex(states: Float32Array, count: number, S: number): Float32Array {
  const out = new Float32Array(count * (S + 1));
  for (let i = 0; i < count; i++) {
    out[i * (S + 1)] = i;
    out.set(states.subarray(i * S, (i + 1) * S), i * (S + 1) + 1);
  }
  return out;
}
