/**
 * Beam search (docs/model-math.md "seq2seq with beam search", §4 decoder): keeps the `beamWidth` most
 * probable partial sequences, extends all live beams with ONE batched predictStep per step (batch =
 * number of live beams, each with its own state), and ranks finished hypotheses by their summed
 * log-probability, optionally divided by the GNMT length normaliser ((5 + length) / 6)^α
 * (Wu et al. 2016). With beamWidth 1 and no length penalty it returns exactly the greedy sequence.
 */
import { primeState } from './prime.js';
import { checkInteger, checkStepOutput, checkTokens, logOf, type StepModel } from './step-model.js';

export interface BeamSearchOptions {
  readonly model: StepModel;
  /** Token ids in [0, V); may be empty (the search then starts right after BOS). */
  readonly prompt: readonly number[];
  /** Number of beams kept at every step (≥ 1). */
  readonly beamWidth: number;
  /** Most tokens per hypothesis (≥ 0), the end token included. */
  readonly maxTokens: number;
  /** α of the GNMT length normaliser ((5 + length) / 6)^α; 0 (default) ranks by raw log-probability. */
  readonly lengthPenalty?: number | undefined;
  /** A hypothesis that emits this id is finished (the id is kept in its tokens). */
  readonly eosToken?: number | undefined;
  /** Continue from this state instead of a new sequence (see primeState); the prompt is fed from it. */
  readonly state?: Float32Array | undefined;
}

export interface BeamHypothesis {
  /** Generated ids, without the prompt; ends with eosToken when `finished`. */
  readonly tokens: number[];
  /** Sum of log p(token | prefix) over `tokens`, natural log. */
  readonly logProb: number;
  /** logProb / ((5 + tokens.length) / 6)^lengthPenalty: what the hypotheses are ranked by. */
  readonly score: number;
  /** True when the hypothesis ended with eosToken, false when it reached maxTokens. */
  readonly finished: boolean;
}

export interface BeamSearchResult {
  /** At most beamWidth hypotheses, best score first. */
  readonly hypotheses: BeamHypothesis[];
  /** The best hypothesis (hypotheses[0]). */
  readonly best: BeamHypothesis;
}

/** GNMT length normaliser lp(length) = ((5 + length) / 6)^α; 1 for α = 0. */
export function lengthNormalizer(length: number, alpha: number): number {
  return alpha === 0 ? 1 : Math.pow((5 + length) / 6, alpha);
}

interface Beam {
  readonly tokens: number[];
  readonly logProb: number;
  /** State after the beam's last token has been fed [S] (a view into the batch result). */
  readonly state: Float32Array;
  /** Distribution of the beam's next token [V] (a view into the batch result). */
  readonly probs: Float32Array;
}

interface Candidate {
  readonly beam: number;
  readonly token: number;
  readonly logProb: number;
}

export function beamSearch({
  model,
  prompt,
  beamWidth,
  maxTokens,
  lengthPenalty = 0,
  eosToken,
  state,
}: BeamSearchOptions): BeamSearchResult {
  checkInteger('beamWidth', beamWidth, 1, 'use 1 for greedy decoding or a small width such as 4');
  checkInteger('maxTokens', maxTokens, 0, 'ask for the number of tokens to generate, e.g. 200');
  if (typeof lengthPenalty !== 'number' || !Number.isFinite(lengthPenalty)) {
    throw new RangeError(
      `lengthPenalty = ${lengthPenalty}: must be a finite number (fix: use 0 to rank by log-probability, or about 0.6 to stop favouring short hypotheses)`,
    );
  }
  if (eosToken !== undefined) checkTokens('eosToken', [eosToken], model.spec.vocabSize);
  const V = model.spec.vocabSize;
  const S = model.stateSize;
  const primed = primeState({ model, tokens: prompt, state });

  const score = (logProb: number, length: number): number =>
    logProb / lengthNormalizer(length, lengthPenalty);
  const finished: BeamHypothesis[] = [];
  const finish = (tokens: number[], logProb: number, done: boolean): void => {
    finished.push({ tokens, logProb, score: score(logProb, tokens.length), finished: done });
  };

  let live: Beam[] = [{ tokens: [], logProb: 0, state: primed.state, probs: primed.probs }];
  if (maxTokens === 0) finish([], 0, false);

  for (let length = 1; length <= maxTokens && live.length > 0; length++) {
    const candidates = topCandidates(live, 2 * beamWidth);
    const next: Candidate[] = [];
    candidates.forEach((c, rank) => {
      if (c.token === eosToken) {
        // An end among the top beamWidth is a finished hypothesis; one ranked lower would not have survived.
        if (rank < beamWidth) finish([...live[c.beam]!.tokens, c.token], c.logProb, true);
      } else if (next.length < beamWidth) {
        next.push(c);
      }
    });

    if (length === maxTokens) {
      for (const c of next) finish([...live[c.beam]!.tokens, c.token], c.logProb, false);
      break;
    }
    if (
      next.length === 0 ||
      cannotImprove(finished, next, { beamWidth, length, maxTokens, lengthPenalty })
    )
      break;

    // One batched step for all surviving beams: input = the chosen token, state = the parent's state.
    const B = next.length;
    const tokens = new Int32Array(B);
    const states = new Float32Array(B * S);
    next.forEach((c, b) => {
      tokens[b] = c.token;
      states.set(live[c.beam]!.state, b * S);
    });
    const out = model.predictStep({ batchSize: B, tokens, state: states });
    checkStepOutput(out, B, V, S);
    live = next.map((c, b) => ({
      tokens: [...live[c.beam]!.tokens, c.token],
      logProb: c.logProb,
      state: out.state.subarray(b * S, (b + 1) * S),
      probs: out.outputs.subarray(b * V, (b + 1) * V),
    }));
  }

  // Stable sort: equal scores keep the order in which they were found.
  const hypotheses = finished.sort((a, b) => b.score - a.score).slice(0, beamWidth);
  if (hypotheses.length === 0) {
    throw new RangeError(
      'beam search found no hypothesis: every continuation has probability 0 (fix: check the model parameters for NaN or a saturated softmax)',
    );
  }
  return { hypotheses, best: hypotheses[0]! };
}

/**
 * The `count` best one-token extensions of the live beams, by summed log-probability; ties go to
 * the lower beam index, then the lower token id (so beam width 1 picks what greedy picks).
 * Extensions of probability 0 are never candidates.
 */
function topCandidates(live: readonly Beam[], count: number): Candidate[] {
  const top: Candidate[] = [];
  live.forEach((beam, b) => {
    for (let token = 0; token < beam.probs.length; token++) {
      const logProb = beam.logProb + logOf(beam.probs[token]!);
      if (logProb === -Infinity) continue;
      if (top.length === count && logProb <= top[count - 1]!.logProb) continue;
      let at = top.length;
      while (at > 0 && top[at - 1]!.logProb < logProb) at--;
      top.splice(at, 0, { beam: b, token, logProb });
      if (top.length > count) top.pop();
    }
  });
  return top;
}

/**
 * True when beamWidth hypotheses are finished and none of the live beams can reach the score of
 * the beamWidth-th best of them. Log-probabilities only decrease as a beam grows, so a live beam's
 * final score is at most logProb / max(lp(length), lp(maxTokens)) (lp is monotonic in the length).
 */
function cannotImprove(
  finished: readonly BeamHypothesis[],
  live: readonly Candidate[],
  {
    beamWidth,
    length,
    maxTokens,
    lengthPenalty,
  }: { beamWidth: number; length: number; maxTokens: number; lengthPenalty: number },
): boolean {
  if (finished.length < beamWidth) return false;
  const kth = finished.map((h) => h.score).sort((a, b) => b - a)[beamWidth - 1]!;
  const largestNormalizer = Math.max(
    lengthNormalizer(length, lengthPenalty),
    lengthNormalizer(maxTokens, lengthPenalty),
  );
  const bestReachable = Math.max(...live.map((c) => c.logProb / largestNormalizer));
  return kth >= bestReachable;
}
