/**
 * Autoregressive generation from a prompt (docs/design.md §7 `rnnstream generate`): greedy, or sampling
 * with temperature / top-k / top-p from a seeded generator, one predictStep per generated token.
 */
import { createRng } from '../model/random.js';
import { primeState } from './prime.js';
import { greedy, sampleWithTemperature, validateSamplingOptions } from './sampling.js';
import { checkInteger, checkStepOutput, checkTokens, logOf, type StepModel } from './step-model.js';

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
  const choose = chooser(strategy);
  const primed = primeState({ model, tokens: prompt, state });
  const stops = new Set(stopAt);
  const V = model.spec.vocabSize;
  const S = model.stateSize;

  const tokens: number[] = [];
  let logProb = 0;
  let probs = primed.probs;
  let current = primed.state;
  while (tokens.length < maxTokens) {
    const token = choose(probs);
    tokens.push(token);
    logProb += logOf(probs[token]!);
    if (stops.has(token)) return { tokens, logProb, finishReason: 'stop' };
    if (tokens.length === maxTokens) break; // the distribution after the last token is never needed
    const out = model.predictStep({ batchSize: 1, tokens: Int32Array.of(token), state: current });
    checkStepOutput(out, 1, V, S);
    probs = out.outputs;
    current = out.state;
  }
  return { tokens, logProb, finishReason: 'length' };
}

function chooser(strategy: GenerationStrategy): (probs: Float32Array) => number {
  switch (strategy.kind) {
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
      const kind = (strategy as { kind?: unknown }).kind;
      throw new RangeError(
        `strategy.kind = ${JSON.stringify(kind)}: unknown decoding strategy (fix: use 'greedy' or 'sample'; beam search is beamSearch())`,
      );
    }
  }
}
