/**
 * One greedy or sampled continuation as a run of the batch loop (batched-steps.ts): after its
 * prompt it chooses a token from the current distribution, and asks for one row (that token fed
 * from the current state) whenever it needs the next distribution. generate() is one of these
 * alone; generateBatch steps many together.
 */
import { createRng } from '../model/random.js';
import type { RowResult, StepRow, SteppedRun } from './batched-steps.js';
import { greedy, sampleWithTemperature, validateSamplingOptions } from './sampling.js';
import { logOf } from './step-model.js';

export type GenerationStrategy =
  | { readonly kind: 'greedy' }
  | {
      readonly kind: 'sample';
      readonly temperature: number;
      readonly topK?: number | undefined;
      readonly topP?: number | undefined;
      /** Seed of the sampling generator: the same seed (and model and prompt) gives the same tokens. */
      readonly seed: number;
    };

/**
 * The token choice of a strategy, with its own seeded generator. Throws a RangeError naming the
 * value, the reason and the fix for a bad strategy, so call it before any model step.
 */
export function tokenChooser(strategy: GenerationStrategy): (probs: Float32Array) => number {
  switch (strategy?.kind) {
    case 'greedy':
      return greedy;
    case 'sample': {
      const { temperature, topK, topP, seed } = strategy;
      validateSamplingOptions({ temperature, topK, topP });
      if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
        throw new RangeError(
          `seed = ${seed}: must be an integer (fix: pass any integer, e.g. 1; the same seed gives the same sample)`,
        );
      }
      const rng = createRng(seed);
      return (probs) => sampleWithTemperature(probs, { temperature, topK, topP, rng });
    }
    default: {
      const kind = (strategy as { kind?: unknown } | undefined)?.kind;
      throw new RangeError(
        `strategy.kind = ${JSON.stringify(kind)}: unknown decoding strategy (fix: use 'greedy' or 'sample'; beam search is beamSearch())`,
      );
    }
  }
}

export type SequenceFinish = 'stop' | 'length';

export class SampledSequence implements SteppedRun {
  readonly tokens: number[] = [];
  /** log p(token | prefix) of each token under the model's own distribution. */
  readonly tokenLogProbs: number[] = [];
  logProb = 0;
  /** Set once the sequence has ended. */
  finishReason: SequenceFinish | undefined;
  private readonly choose: (probs: Float32Array) => number;
  private readonly maxTokens: number;
  private readonly stops: ReadonlySet<number>;
  private readonly onToken: ((token: number, logProb: number) => void) | undefined;
  private state: Float32Array | undefined;
  private probs: Float32Array | undefined;
  /** The token chosen last, still to be fed. */
  private pending: number | undefined;

  constructor({
    choose,
    maxTokens,
    stopTokens,
    onToken,
  }: {
    choose: (probs: Float32Array) => number;
    maxTokens: number;
    stopTokens: readonly number[];
    /** Called with each token as soon as it is chosen. */
    onToken?: ((token: number, logProb: number) => void) | undefined;
  }) {
    this.choose = choose;
    this.maxTokens = maxTokens;
    this.stops = new Set(stopTokens);
    this.onToken = onToken;
  }

  /** Begins at the state after the prompt and the distribution that follows it. */
  start(state: Float32Array, probs: Float32Array): void {
    this.state = state;
    this.probs = probs;
    this.chooseNext();
  }

  nextRows(): readonly StepRow[] {
    if (this.pending === undefined) return [];
    return [{ token: this.pending, state: this.state! }];
  }

  accept([row]: readonly RowResult[]): void {
    this.pending = undefined;
    this.state = row!.state;
    this.probs = row!.outputs;
    this.chooseNext();
  }

  private chooseNext(): void {
    if (this.tokens.length >= this.maxTokens) {
      this.finishReason = 'length';
      return;
    }
    const token = this.choose(this.probs!);
    const logProb = logOf(this.probs![token]!);
    this.tokens.push(token);
    this.tokenLogProbs.push(logProb);
    this.logProb += logProb;
    this.onToken?.(token, logProb);
    if (this.stops.has(token)) this.finishReason = 'stop';
    // The distribution after the last token is never needed: no row for it.
    else if (this.tokens.length === this.maxTokens) this.finishReason = 'length';
    else this.pending = token;
  }
}
