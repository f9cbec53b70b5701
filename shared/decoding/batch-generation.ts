/**
 * Dynamic batching of generation requests (the decoder service, issue 16): many jobs — greedy,
 * seeded sampling, beam search; new sequences or continuations of a key's state; prompts of any
 * length — advance together, ONE predictStep per time step carrying every live row: the prompt
 * token of each job still being primed, one row per greedy/sampled job, up to `width` rows per
 * beam search. A model that computes rows independently gives every job exactly what
 * generate() / beamSearch() give it alone; a real model agrees up to float rounding of the batch.
 */
import {
  runStepsYielding,
  withJobIndex,
  type RowResult,
  type StepRow,
  type SteppedRun,
} from './batched-steps.js';
import { BeamSearchRun, checkBeamOptions, type BeamHypothesis } from './beam-search.js';
import { checkPrimeOptions, PromptFeed, runTokenSteps, tokenSteps } from './prime.js';
import { SampledSequence, tokenChooser, type GenerationStrategy } from './sampled-sequence.js';
import { checkInteger, checkLanguageModel, checkTokens, type StepModel } from './step-model.js';

export interface BeamStrategy {
  readonly kind: 'beam';
  /** Beams kept at every step (≥ 1); 1 is greedy. */
  readonly width: number;
  /** α of the GNMT length normaliser ((5 + length) / 6)^α; 0 (default) ranks by log-probability. */
  readonly lengthPenalty?: number | undefined;
}

export type DecodingStrategy = GenerationStrategy | BeamStrategy;

export interface GenerationJob {
  /** Token ids in [0, V) fed first; may be empty for a new sequence (generation then starts after BOS). */
  readonly prompt: readonly number[];
  /**
   * Continue from this state [S]: it has consumed everything before `prompt` (for a key: its state,
   * with the key's last token as the prompt's first token). Absent: a new sequence from the zero
   * state with BOS as the first input.
   */
  readonly state?: Float32Array | undefined;
  /** The next-token distribution at `state`, when known (lets `prompt` be empty after a state). */
  readonly probs?: Float32Array | undefined;
  /** Most tokens to generate (≥ 0), a stop token included. */
  readonly maxTokens: number;
  /** Generation ends right after emitting any of these ids (which is kept in `tokens`). */
  readonly stopTokens: readonly number[];
  readonly strategy: DecodingStrategy;
  /**
   * Streaming: called with the new tokens and their log-probabilities as they are produced. Greedy
   * and sampled jobs call it once per token, right after choosing it; a beam search only knows its
   * answer at the end, so it calls it once then, with the whole best hypothesis.
   */
  readonly onTokens?: ((tokens: number[], logProbs: number[]) => void) | undefined;
  /** Checked between steps: once true the job ends with finishReason 'expired' and what it has. */
  readonly expired?: (() => boolean) | undefined;
}

export interface GenerationOutcome {
  /** The generated ids, without the prompt (beam: the best hypothesis). */
  readonly tokens: number[];
  /** log p(token | prefix) of each token under the model's own distribution, natural log. */
  readonly tokenLogProbs: number[];
  /** Sum of tokenLogProbs. */
  readonly logProb: number;
  /** 'stop': ended with a stop token; 'length': maxTokens were generated; 'expired': cut short by `expired`. */
  readonly finishReason: 'stop' | 'length' | 'expired';
  /** The state after the prompt, which generation started from; undefined if the job expired while its prompt was fed. */
  readonly startState: Float32Array | undefined;
  /** The next-token distribution at startState (undefined with it). */
  readonly nextDistribution: Float32Array | undefined;
  /** log p of each prompt token given what precedes it (NaN for the first after a state given without probs). */
  readonly promptLogProbs: number[];
  /** Beam search only: the best hypothesis's (length-normalised) score, and all kept hypotheses, best first. */
  readonly score?: number;
  readonly hypotheses?: BeamHypothesis[];
}

export interface GenerateBatchOptions {
  readonly model: StepModel;
  readonly jobs: readonly GenerationJob[];
}

/**
 * Runs every job to its end, stepping all of them together; outcomes in the order of `jobs`.
 * Every job is checked before any model step: a bad one throws a RangeError that names it
 * (`jobs[i]: …`), the value, the reason and the fix, and nothing runs. An error of the model
 * itself (wrong output sizes, NaN probabilities) ends the whole batch: it is the same for all.
 */
export function generateBatch({ model, jobs }: GenerateBatchOptions): GenerationOutcome[] {
  const runs = createJobRuns(model, jobs);
  runTokenSteps(model, runs);
  return runs.map((run) => run.outcome());
}

/**
 * generateBatch for a service: the same steps and results, but the event loop runs every
 * `yieldEveryMs` while the batch is computed, so streamed tokens (`onTokens`) leave as they are
 * produced and timers keep running.
 */
export async function generateBatchYielding({
  model,
  jobs,
  yieldEveryMs,
}: GenerateBatchOptions & { readonly yieldEveryMs: number }): Promise<GenerationOutcome[]> {
  const runs = createJobRuns(model, jobs);
  await runStepsYielding({ ...tokenSteps(model, runs), yieldEveryMs });
  return runs.map((run) => run.outcome());
}

function createJobRuns(model: StepModel, jobs: readonly GenerationJob[]): GenerationJobRun[] {
  if (!Array.isArray(jobs)) {
    throw new RangeError(
      `jobs = ${typeof jobs}: must be an array of generation jobs (fix: pass [] or a list of jobs)`,
    );
  }
  checkLanguageModel(model);
  return jobs.map((job, i) => withJobIndex(i, () => createJobRun(model, job)));
}

/** Checks one job (throwing a RangeError without the job's index) and prepares its run. */
function createJobRun(model: StepModel, job: GenerationJob): GenerationJobRun {
  if (job === null || typeof job !== 'object')
    throw new RangeError(
      `job = ${String(job)}: must be an object (fix: pass { prompt, maxTokens, stopTokens, strategy })`,
    );
  const V = model.spec.vocabSize;
  const { prompt, state, probs, maxTokens, strategy, onTokens, expired } = job;
  const stopTokens = job.stopTokens ?? [];
  checkInteger('maxTokens', maxTokens, 0, 'ask for the number of tokens to generate, e.g. 200');
  if (!Array.isArray(stopTokens))
    throw new RangeError(
      `stopTokens = ${String(stopTokens)}: must be an array of token ids (fix: pass [] for none)`,
    );
  checkTokens('stopTokens', stopTokens, V);
  if (!Array.isArray(prompt))
    throw new RangeError(
      `prompt = ${String(prompt)}: must be an array of token ids (fix: pass [] to start right after BOS)`,
    );
  checkPrimeOptions({ model, tokens: prompt, state, probs });
  for (const [name, f] of [
    ['onTokens', onTokens],
    ['expired', expired],
  ] as const) {
    if (f !== undefined && typeof f !== 'function')
      throw new RangeError(
        `${name} = ${String(f)}: must be a function (fix: pass a function or leave it unset)`,
      );
  }

  let decoder: SampledSequence | BeamSearchRun;
  if (strategy?.kind === 'beam') {
    const lengthPenalty = strategy.lengthPenalty ?? 0;
    checkBeamOptions({
      beamWidth: strategy.width,
      lengthPenalty,
      names: { beamWidth: 'strategy.width', lengthPenalty: 'strategy.lengthPenalty' },
    });
    decoder = new BeamSearchRun({
      beamWidth: strategy.width,
      maxTokens,
      lengthPenalty,
      stopTokens,
    });
  } else if (strategy?.kind === 'greedy' || strategy?.kind === 'sample') {
    decoder = new SampledSequence({
      choose: tokenChooser(strategy),
      maxTokens,
      stopTokens,
      onToken: onTokens && ((token, logProb) => onTokens([token], [logProb])),
    });
  } else {
    const kind = (strategy as { kind?: unknown } | undefined)?.kind;
    throw new RangeError(
      `strategy.kind = ${JSON.stringify(kind)}: unknown decoding strategy (fix: use 'greedy', 'sample' or 'beam')`,
    );
  }
  const feed = new PromptFeed({
    vocabSize: V,
    stateSize: model.stateSize,
    tokens: prompt,
    state,
    probs,
  });
  return new GenerationJobRun({ feed, decoder, onTokens, expired });
}

/** One job as a run of the batch loop: its prompt feed, then its decoder, until it ends or expires. */
class GenerationJobRun implements SteppedRun {
  private readonly feed: PromptFeed;
  private readonly decoder: SampledSequence | BeamSearchRun;
  private readonly onTokens: GenerationJob['onTokens'];
  private readonly isExpired: GenerationJob['expired'];
  private hasExpired = false;
  private startState: Float32Array | undefined;
  private nextDistribution: Float32Array | undefined;

  constructor({
    feed,
    decoder,
    onTokens,
    expired,
  }: {
    feed: PromptFeed;
    decoder: SampledSequence | BeamSearchRun;
    onTokens: GenerationJob['onTokens'];
    expired: GenerationJob['expired'];
  }) {
    this.feed = feed;
    this.decoder = decoder;
    this.onTokens = onTokens;
    this.isExpired = expired;
    if (feed.done) this.begin(); // a state with its probs and no prompt: nothing to feed
  }

  nextRows(): readonly StepRow[] {
    if (this.hasExpired || this.decoderDone()) return [];
    if (this.isExpired?.()) {
      this.hasExpired = true;
      return [];
    }
    return this.feed.done ? this.decoder.nextRows() : this.feed.nextRows();
  }

  accept(results: readonly RowResult[]): void {
    if (this.feed.done) {
      this.decoder.accept(results);
      return;
    }
    this.feed.accept(results);
    if (this.feed.done) this.begin();
  }

  outcome(): GenerationOutcome {
    const common = {
      startState: this.startState,
      nextDistribution: this.nextDistribution,
      promptLogProbs: this.feed.done ? this.feed.result().tokenLogProbs : [],
    };
    const expired = this.hasExpired;
    if (this.decoder instanceof SampledSequence) {
      const { tokens, tokenLogProbs, logProb, finishReason } = this.decoder;
      return {
        tokens,
        tokenLogProbs,
        logProb,
        finishReason: expired ? 'expired' : finishReason!,
        ...common,
      };
    }
    if (this.startState === undefined) {
      return { tokens: [], tokenLogProbs: [], logProb: 0, finishReason: 'expired', ...common };
    }
    const { best, hypotheses } = this.decoder.result();
    this.onTokens?.(best.tokens, best.tokenLogProbs);
    return {
      tokens: best.tokens,
      tokenLogProbs: best.tokenLogProbs,
      logProb: best.logProb,
      finishReason: expired ? 'expired' : best.finished ? 'stop' : 'length',
      score: best.score,
      hypotheses,
      ...common,
    };
  }

  private begin(): void {
    const primed = this.feed.result();
    // Copies: the views would keep whole batch arrays alive.
    this.startState = primed.state.slice();
    this.nextDistribution = primed.probs.slice();
    this.decoder.start(primed.state, primed.probs);
  }

  private decoderDone(): boolean {
    return this.decoder instanceof SampledSequence
      ? this.decoder.finishReason !== undefined
      : this.decoder.finished;
  }
}
