/**
 * Feeding a prompt through a language model (docs/model-math.md, lm task: the input at a step is
 * the previous token, BOS at the start of a sequence, and the output is the next token's
 * distribution). One predictStep per token with batch 1 here; generateBatch feeds many prompts
 * together through the same PromptFeed, one row per prompt and step.
 */
import {
  runSteps,
  type RowResult,
  type RunStepsOptions,
  type StepRow,
  type SteppedRun,
} from './batched-steps.js';
import {
  checkLanguageModel,
  checkStepOutput,
  checkTokens,
  logOf,
  type StepModel,
} from './step-model.js';

export interface PrimeOptions {
  readonly model: StepModel;
  /** Token ids in [0, V) fed in order. */
  readonly tokens: readonly number[];
  /**
   * A state that has already consumed the inputs before `tokens` (e.g. the `state` of an earlier
   * primeState call, or a key's state). Absent: a new sequence, starting from the zero state with
   * BOS as the first input.
   */
  readonly state?: Float32Array | undefined;
  /** The next-token distribution at `state`, when known: it gives tokens[0] its log-probability. */
  readonly probs?: Float32Array | undefined;
}

export interface PrimedState {
  /** State after every token has been fed [S]. */
  readonly state: Float32Array;
  /** Distribution of the token that follows `tokens` [V]. */
  readonly probs: Float32Array;
  /**
   * log p(tokens[i] | everything before it), natural log, one per token. NaN for tokens[0] when
   * a `state` was given without its `probs` (that distribution was never computed here).
   */
  readonly tokenLogProbs: number[];
  /** Sum of the known (non-NaN) entries of tokenLogProbs. */
  readonly logProb: number;
}

export function primeState({ model, tokens, state, probs }: PrimeOptions): PrimedState {
  checkPrimeOptions({ model, tokens, state, probs });
  const feed = new PromptFeed({
    vocabSize: model.spec.vocabSize,
    stateSize: model.stateSize,
    tokens,
    state,
    probs,
  });
  runTokenSteps(model, [feed]);
  return feed.result();
}

/** Throws a RangeError naming the value, the reason and the fix unless primeState can feed these. */
export function checkPrimeOptions({ model, tokens, state, probs }: PrimeOptions): void {
  checkLanguageModel(model);
  const V = model.spec.vocabSize;
  const S = model.stateSize;
  checkTokens('prompt', tokens, V);
  if (state !== undefined && (!(state instanceof Float32Array) || state.length !== S)) {
    throw new RangeError(
      `state has ${state?.length} values but the model's state size is ${S} (fix: pass a state produced by this model configuration)`,
    );
  }
  if (probs !== undefined && (!(probs instanceof Float32Array) || probs.length !== V)) {
    throw new RangeError(
      `probs has ${probs?.length} values but the model has ${V} output tokens (fix: pass the distribution returned with that state)`,
    );
  }
  if (probs !== undefined && state === undefined) {
    throw new RangeError(
      'probs was given without state (fix: pass the state the distribution belongs to, or neither)',
    );
  }
  if (state !== undefined && tokens.length === 0 && probs === undefined) {
    throw new RangeError(
      "nothing to feed: a state was given with no tokens and no probs, so there is no next-token distribution (fix: pass at least the key's last token, or the probs that came with the state)",
    );
  }
}

/** Runs token-input runs of a language model together (see runSteps). */
export function runTokenSteps(model: StepModel, runs: readonly SteppedRun[]): void {
  runSteps(tokenSteps(model, runs));
}

/** The batch loop's options for token runs of a language model. */
export function tokenSteps(model: StepModel, runs: readonly SteppedRun[]): RunStepsOptions {
  const V = model.spec.vocabSize;
  return {
    model,
    runs,
    input: { kind: 'tokens' },
    outputSize: V,
    checkOutput: (out, batchSize) => checkStepOutput(out, batchSize, V, model.stateSize),
  };
}

/**
 * Feeds one prompt, one token per step (BOS first for a new sequence), as a run of the batch loop.
 * Its options must have passed checkPrimeOptions.
 */
export class PromptFeed implements SteppedRun {
  private readonly vocabSize: number;
  private readonly inputs: readonly number[];
  private fed = 0;
  private current: Float32Array;
  private next: Float32Array | undefined;
  private readonly tokenLogProbs: number[] = [];

  constructor({
    vocabSize,
    stateSize,
    tokens,
    state,
    probs,
  }: {
    vocabSize: number;
    stateSize: number;
    tokens: readonly number[];
    state?: Float32Array | undefined;
    probs?: Float32Array | undefined;
  }) {
    this.vocabSize = vocabSize;
    this.inputs = state === undefined ? [vocabSize, ...tokens] : [...tokens];
    this.current = state === undefined ? new Float32Array(stateSize) : Float32Array.from(state);
    this.next = probs && Float32Array.from(probs);
  }

  /** True once every input has been fed. */
  get done(): boolean {
    return this.fed === this.inputs.length;
  }

  nextRows(): readonly StepRow[] {
    return this.done ? [] : [{ token: this.inputs[this.fed]!, state: this.current }];
  }

  accept([row]: readonly RowResult[]): void {
    const input = this.inputs[this.fed]!;
    if (input !== this.vocabSize)
      this.tokenLogProbs.push(this.next === undefined ? NaN : logOf(this.next[input]!));
    this.current = row!.state;
    this.next = row!.outputs;
    this.fed++;
  }

  /** The state after the prompt and the distribution that follows it; only once done. */
  result(): PrimedState {
    let logProb = 0;
    for (const lp of this.tokenLogProbs) if (!Number.isNaN(lp)) logProb += lp;
    return {
      state: this.current,
      probs: this.next!,
      tokenLogProbs: [...this.tokenLogProbs],
      logProb,
    };
  }
}
