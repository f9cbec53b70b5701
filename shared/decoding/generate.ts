/**
 * Autoregressive generation from a prompt (docs/design.md §7 `rnnstream generate`): greedy, or sampling
 * with temperature / top-k / top-p from a seeded generator, one predictStep per generated token.
 * The same runs as generateBatch (prime.ts PromptFeed, sampled-sequence.ts), stepped alone.
 */
import { checkPrimeOptions, PromptFeed, runTokenSteps } from './prime.js';
import { SampledSequence, tokenChooser, type GenerationStrategy } from './sampled-sequence.js';
import { checkInteger, checkTokens, type StepModel } from './step-model.js';

export type { GenerationStrategy } from './sampled-sequence.js';

export interface GenerateOptions {
  readonly model: StepModel;
  /** Token ids in [0, V); may be empty (generation then starts right after BOS). */
  readonly prompt: readonly number[];
  /** Most tokens to generate (≥ 0), the stop token included. */
  readonly maxTokens: number;
  readonly strategy: GenerationStrategy;
  /** Generation ends right after emitting any of these ids (which is kept in `tokens`). */
  readonly stopAt?: readonly number[] | undefined;
  /** Continue from this state instead of a new sequence (see primeState); the prompt is fed from it. */
  readonly state?: Float32Array | undefined;
}

export interface GenerateResult {
  /** The generated ids, without the prompt; ends with the stop token when one was emitted. */
  readonly tokens: number[];
  /** Sum of log p(token | prefix) under the model's own distribution (not the tempered one), natural log. */
  readonly logProb: number;
  /** 'stop': a stopAt token was emitted; 'length': maxTokens were generated. */
  readonly finishReason: 'stop' | 'length';
}

export function generate({
  model,
  prompt,
  maxTokens,
  strategy,
  stopAt = [],
  state,
}: GenerateOptions): GenerateResult {
  checkInteger('maxTokens', maxTokens, 0, 'ask for the number of tokens to generate, e.g. 200');
  checkTokens('stopAt', stopAt, model.spec.vocabSize);
  const choose = tokenChooser(strategy);
  checkPrimeOptions({ model, tokens: prompt, state });

  const feed = new PromptFeed({
    vocabSize: model.spec.vocabSize,
    stateSize: model.stateSize,
    tokens: prompt,
    state,
  });
  runTokenSteps(model, [feed]);
  const primed = feed.result();
  const sequence = new SampledSequence({ choose, maxTokens, stopTokens: stopAt });
  sequence.start(primed.state, primed.probs);
  runTokenSteps(model, [sequence]);
  return {
    tokens: sequence.tokens,
    logProb: sequence.logProb,
    finishReason: sequence.finishReason!,
  };
}
