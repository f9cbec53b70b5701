/**
 * Beam search (docs/model-math.md "seq2seq with beam search", §4 decoder): keeps the `beamWidth` most
 * probable partial sequences, extends all live beams with ONE batched predictStep per step (batch =
 * number of live beams, each with its own state), and ranks finished hypotheses by their summed
 * log-probability, optionally divided by the GNMT length normaliser ((5 + length) / 6)^α
 * (Wu et al. 2016). With beamWidth 1 and no length penalty it returns exactly the greedy sequence.
 * The search is a run of the batch loop (batched-steps.ts), so generateBatch steps the beams of
 * many searches, and other requests, in the same predictStep.
 */
import type { RowResult, StepRow, SteppedRun } from './batched-steps.js';
import { checkPrimeOptions, PromptFeed, runTokenSteps } from './prime.js';
import { checkInteger, checkTokens, logOf, type StepModel } from './step-model.js';

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
  /** log p(token | prefix) of each token, natural log. */
  readonly tokenLogProbs: number[];
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
  readonly tokenLogProbs: number[];
  readonly logProb: number;
  /** State after the beam's last token has been fed [S] (a view into the batch result). */
  readonly state: Float32Array;
  /** Distribution of the beam's next token [V] (a view into the batch result). */
  readonly probs: Float32Array;
}

interface Candidate {
  readonly beam: number;
  readonly token: number;
  /** log p(token | the beam's tokens). */
  readonly tokenLogProb: number;
  /** The beam's logProb plus tokenLogProb. */
  readonly logProb: number;
}

/** Throws a RangeError naming the value, the reason and the fix unless the beam options are usable. */
export function checkBeamOptions({
  beamWidth,
  lengthPenalty,
  names = { beamWidth: 'beamWidth', lengthPenalty: 'lengthPenalty' },
}: {
  beamWidth: number;
  lengthPenalty: number;
  names?: { beamWidth: string; lengthPenalty: string };
}): void {
  checkInteger(
    names.beamWidth,
    beamWidth,
    1,
    'use 1 for greedy decoding or a small width such as 4',
  );
  if (typeof lengthPenalty !== 'number' || !Number.isFinite(lengthPenalty)) {
    throw new RangeError(
      `${names.lengthPenalty} = ${lengthPenalty}: must be a finite number (fix: use 0 to rank by log-probability, or about 0.6 to stop favouring short hypotheses)`,
    );
  }
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
  checkBeamOptions({ beamWidth, lengthPenalty });
  checkInteger('maxTokens', maxTokens, 0, 'ask for the number of tokens to generate, e.g. 200');
  if (eosToken !== undefined) checkTokens('eosToken', [eosToken], model.spec.vocabSize);
  checkPrimeOptions({ model, tokens: prompt, state });

  const feed = new PromptFeed({
    vocabSize: model.spec.vocabSize,
    stateSize: model.stateSize,
    tokens: prompt,
    state,
  });
  runTokenSteps(model, [feed]);
  const primed = feed.result();
  const search = new BeamSearchRun({
    beamWidth,
    maxTokens,
    lengthPenalty,
    stopTokens: eosToken === undefined ? [] : [eosToken],
  });
  search.start(primed.state, primed.probs);
  runTokenSteps(model, [search]);
  return search.result();
}

/**
 * One beam search as a run of the batch loop: after its prompt, every step asks for one row per
 * surviving beam (its chosen token fed from its parent's state).
 */
export class BeamSearchRun implements SteppedRun {
  private readonly beamWidth: number;
  private readonly maxTokens: number;
  private readonly lengthPenalty: number;
  private readonly stops: ReadonlySet<number>;
  private readonly finishedHypotheses: BeamHypothesis[] = [];
  private live: Beam[] = [];
  /** The extensions chosen at `length`, waiting for their step. */
  private chosen: Candidate[] = [];
  private length = 1;
  /** True once the search has ended (result() is then final). */
  finished = false;

  constructor({
    beamWidth,
    maxTokens,
    lengthPenalty,
    stopTokens,
  }: {
    beamWidth: number;
    maxTokens: number;
    lengthPenalty: number;
    /** A hypothesis that emits any of these ids is finished (the id is kept in its tokens). */
    stopTokens: readonly number[];
  }) {
    this.beamWidth = beamWidth;
    this.maxTokens = maxTokens;
    this.lengthPenalty = lengthPenalty;
    this.stops = new Set(stopTokens);
  }

  /** Begins at the state after the prompt and the distribution that follows it. */
  start(state: Float32Array, probs: Float32Array): void {
    this.live = [{ tokens: [], tokenLogProbs: [], logProb: 0, state, probs }];
    if (this.maxTokens === 0) this.finish([], [], 0, false);
    this.extend();
  }

  nextRows(): readonly StepRow[] {
    if (this.finished) return [];
    return this.chosen.map((c) => ({ token: c.token, state: this.live[c.beam]!.state }));
  }

  accept(results: readonly RowResult[]): void {
    this.live = this.chosen.map((c, b) => this.extended(c, results[b]!));
    this.chosen = [];
    this.length++;
    this.extend();
  }

  /**
   * At most beamWidth hypotheses, best score first. Before the search has ended (a deadline) the
   * live beams compete as unfinished hypotheses with what they have so far.
   */
  result(): BeamSearchResult {
    const candidates = this.finished
      ? [...this.finishedHypotheses]
      : [
          ...this.finishedHypotheses,
          ...this.live.map((beam) =>
            this.hypothesis(beam.tokens, beam.tokenLogProbs, beam.logProb, false),
          ),
        ];
    // Stable sort: equal scores keep the order in which they were found.
    const hypotheses = candidates.sort((a, b) => b.score - a.score).slice(0, this.beamWidth);
    if (hypotheses.length === 0) {
      throw new RangeError(
        'beam search found no hypothesis: every continuation has probability 0 (fix: check the model parameters for NaN or a saturated softmax)',
      );
    }
    return { hypotheses, best: hypotheses[0]! };
  }

  /** Chooses the extensions of length `length`, finishing hypotheses, or ends the search. */
  private extend(): void {
    const { beamWidth, maxTokens, length } = this;
    if (length > maxTokens || this.live.length === 0) {
      this.finished = true;
      return;
    }
    const candidates = topCandidates(this.live, 2 * beamWidth);
    const next: Candidate[] = [];
    candidates.forEach((c, rank) => {
      if (this.stops.has(c.token)) {
        // An end among the top beamWidth is a finished hypothesis; one ranked lower would not have survived.
        if (rank < beamWidth) this.finishCandidate(c, true);
      } else if (next.length < beamWidth) {
        next.push(c);
      }
    });

    if (length === maxTokens) {
      for (const c of next) this.finishCandidate(c, false);
      this.finished = true;
      return;
    }
    if (
      next.length === 0 ||
      cannotImprove(this.finishedHypotheses, next, {
        beamWidth,
        length,
        maxTokens,
        lengthPenalty: this.lengthPenalty,
      })
    ) {
      this.finished = true;
      return;
    }
    // One row per surviving beam: input = the chosen token, state = the parent's state.
    this.chosen = next;
  }

  private extended(c: Candidate, row: RowResult): Beam {
    const parent = this.live[c.beam]!;
    return {
      tokens: [...parent.tokens, c.token],
      tokenLogProbs: [...parent.tokenLogProbs, c.tokenLogProb],
      logProb: c.logProb,
      state: row.state,
      probs: row.outputs,
    };
  }

  private finishCandidate(c: Candidate, done: boolean): void {
    const parent = this.live[c.beam]!;
    this.finish(
      [...parent.tokens, c.token],
      [...parent.tokenLogProbs, c.tokenLogProb],
      c.logProb,
      done,
    );
  }

  private finish(tokens: number[], tokenLogProbs: number[], logProb: number, done: boolean): void {
    this.finishedHypotheses.push(this.hypothesis(tokens, tokenLogProbs, logProb, done));
  }

  private hypothesis(
    tokens: number[],
    tokenLogProbs: number[],
    logProb: number,
    done: boolean,
  ): BeamHypothesis {
    const score = logProb / lengthNormalizer(tokens.length, this.lengthPenalty);
    return { tokens, tokenLogProbs, logProb, score, finished: done };
  }
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
      const tokenLogProb = logOf(beam.probs[token]!);
      const logProb = beam.logProb + tokenLogProb;
      if (logProb === -Infinity) continue;
      if (top.length === count && logProb <= top[count - 1]!.logProb) continue;
      let at = top.length;
      while (at > 0 && top[at - 1]!.logProb < logProb) at--;
      top.splice(at, 0, { beam: b, token, tokenLogProb, logProb });
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
