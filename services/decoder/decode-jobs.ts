/**
 * What a decode request asks of this decoder's model, checked before it is queued: the task
 * matches the model, the prompt and events encode, every number is in range. A request that
 * fails gets an error result naming the value, the reason and the fix — never a crash.
 */
import { WordsTokenizer } from '../../shared/vocabulary/words-tokenizer.js';
import type {
  DecodeErrorCode,
  DecodeRequest,
  DecodeTaskName,
} from '../../shared/codec/decode-codec.js';
import type { DecoderConfig } from '../../shared/config/index.js';
import { validateSamplingOptions } from '../../shared/decoding/index.js';
import { InputError } from '../../shared/errors/index.js';
import { renderValue } from '../../shared/errors/render-value.js';
import type { StreamEvent } from '../../shared/events/stream-event.js';
import type { Tokenizer } from '../../shared/events/tokenizer.js';
import type { InputKind, ModelSpec, TaskType } from '../../shared/model/model-spec.js';
import type { TransduceWork } from './transduce-jobs.js';

/** Tokens generated when a request leaves max_tokens at 0. */
export const DEFAULT_MAX_TOKENS = 64;

export type GenerateStrategy =
  | { readonly kind: 'greedy' }
  | {
      readonly kind: 'sample';
      readonly temperature: number;
      readonly topK: number | undefined;
      readonly topP: number | undefined;
      readonly seed: number;
    }
  | { readonly kind: 'beam'; readonly width: number; readonly lengthPenalty: number };

/** The work of an accepted request, in model terms (events are encoded when the job runs). */
export type DecodeWork =
  | {
      readonly task: 'generate';
      readonly prompt: readonly number[];
      readonly maxTokens: number;
      readonly stopTokens: readonly number[];
      readonly strategy: GenerateStrategy;
    }
  | {
      readonly task: 'tag';
      readonly events: readonly StreamEvent[];
      /** Tag the key's last n steps (events empty). */
      readonly lastSteps: number;
    }
  | { readonly task: 'classify'; readonly events: readonly StreamEvent[] }
  | { readonly task: 'forecast'; readonly steps: number; readonly events: readonly StreamEvent[] }
  | TransduceWork;

export class DecodeRejection extends Error {
  readonly code: DecodeErrorCode;
  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.name = 'DecodeRejection';
    this.code = code;
  }
}

export interface JobContext {
  readonly app: string;
  readonly spec: ModelSpec;
  readonly tokenizer: Tokenizer;
  readonly bounds: DecoderConfig;
  readonly maxKeyBytes: number;
}

/** The task of the model a decoder serves: a recurrent stream model's, or seq2seq. */
export interface ServedTask {
  readonly task: TaskType | 'seq2seq';
  readonly inputKind: InputKind;
}

/** The task a request names (for its result and metrics), whether or not it is valid. */
export function taskOf(request: DecodeRequest, spec: Pick<ServedTask, 'task'>): DecodeTaskName {
  switch (request.ask.kind) {
    case 'tag':
    case 'classify':
    case 'forecast':
    case 'transduce':
      return request.ask.kind;
    case 'labelEvents':
      return spec.task === 'classify' ? 'classify' : 'tag';
    default:
      return 'generate';
  }
}

/** The work of a valid request; a DecodeRejection (with its error code) otherwise. */
export function decodeWorkOf(request: DecodeRequest, context: JobContext): DecodeWork {
  const { spec, bounds } = context;
  checkAddressedModel(request, context.app);
  if (request.key !== undefined && Buffer.byteLength(request.key) > context.maxKeyBytes)
    invalid(
      `key of ${Buffer.byteLength(request.key)} bytes is over limits.maxKeyBytes = ${context.maxKeyBytes}`,
      'use the sequence key the events were sent with',
    );
  const task = taskOf(request, spec);
  requireModelTask(task, spec);
  const { ask } = request;
  switch (ask.kind) {
    case 'labelEvents':
    case 'tag':
    case 'classify': {
      const events = ask.events;
      const lastSteps = ask.kind === 'tag' ? ask.lastSteps : 0;
      checkEvents(events, bounds);
      if (events.length > 0 && lastSteps > 0)
        invalid(
          `tag.last_steps = ${lastSteps} with ${events.length} events`,
          'send either events to tag or last_steps of a key, not both',
        );
      if (events.length === 0 && request.key === undefined)
        invalid(
          `${task} request without events or key`,
          `send the events to ${task}, or name a key to ${task} its sequence so far`,
        );
      if (lastSteps > 0 && request.key === undefined)
        invalid(`tag.last_steps = ${lastSteps} without a key`, 'name the key whose steps to tag');
      if (task === 'tag')
        return { task, events, lastSteps: events.length === 0 ? lastSteps || 1 : 0 };
      return { task: 'classify', events };
    }
    case 'forecast': {
      checkEvents(ask.events, bounds);
      if (!(ask.steps >= 1 && ask.steps <= bounds.maxForecastSteps))
        invalid(
          `forecast.steps = ${ask.steps}: must be in [1, ${bounds.maxForecastSteps}]`,
          'ask for at least one step, or raise decoder.maxForecastSteps in the config',
        );
      if (ask.events.length === 0 && request.key === undefined)
        invalid(
          'forecast request without events or key',
          'name the key to forecast, or send its recent events',
        );
      return { task: 'forecast', steps: ask.steps, events: ask.events };
    }
    default:
      return generateWork(request, context);
  }
}

/** A request naming another app's model is refused (wrong_model). */
export function checkAddressedModel(request: DecodeRequest, app: string): void {
  if (request.model && request.model !== app)
    throw new DecodeRejection(
      'wrong_model',
      `model ${renderValue(request.model)}: this decoder serves ${renderValue(app)} (fix: send the request to <model>.decode-requests of the model you meant, or leave model empty)`,
    );
}

function generateWork(request: DecodeRequest, context: JobContext): DecodeWork {
  const { spec, bounds, tokenizer } = context;
  const V = spec.vocabSize;
  const prompt = promptOf(request, tokenizer);
  if (prompt.length > bounds.maxPromptTokens)
    invalid(
      `prompt of ${prompt.length} tokens is over decoder.maxPromptTokens = ${bounds.maxPromptTokens}`,
      'send a shorter prompt (or continue from a key), or raise decoder.maxPromptTokens',
    );
  prompt.forEach((id, i) => {
    if (!(Number.isInteger(id) && id >= 0 && id < V))
      invalid(
        `prompt_tokens[${i}] = ${id}: not a token id in [0, ${V})`,
        "encode the prompt with the model's tokenizer",
      );
  });
  const stopTokens = [...(request.stopTokens ?? [])];
  stopTokens.forEach((id, i) => {
    if (!(id >= 0 && id < V))
      invalid(`stop_tokens[${i}] = ${id}: not a token id in [0, ${V})`, 'list output token ids');
  });
  const maxTokens = request.maxTokens || DEFAULT_MAX_TOKENS;
  if (maxTokens > bounds.maxTokens)
    invalid(
      `max_tokens = ${maxTokens} is over decoder.maxTokens = ${bounds.maxTokens}`,
      'ask for fewer tokens, or raise decoder.maxTokens in the config',
    );
  return { task: 'generate', prompt, maxTokens, stopTokens, strategy: strategyOf(request, bounds) };
}

function strategyOf(request: DecodeRequest, bounds: DecoderConfig): GenerateStrategy {
  const { ask } = request;
  if (ask.kind === 'beam') return checkedBeam(ask, bounds, 'beam');
  if (ask.kind === 'sample') {
    const topK = ask.topK === 0 ? undefined : ask.topK;
    const topP = ask.topP === 0 ? undefined : ask.topP;
    try {
      validateSamplingOptions({ temperature: ask.temperature, topK, topP });
    } catch (error) {
      throw new DecodeRejection('invalid_request', (error as Error).message);
    }
    if (!Number.isSafeInteger(ask.seed))
      invalid(`sample.seed = ${ask.seed}: not a safe integer`, 'use a seed below 2^53');
    return { kind: 'sample', temperature: ask.temperature, topK, topP, seed: ask.seed };
  }
  return { kind: 'greedy' };
}

/** A beam's width (≤ decoder.maxBeamWidth) and length penalty, checked; `field` names them. */
export function checkedBeam(
  { width, lengthPenalty }: { width: number; lengthPenalty: number },
  bounds: Pick<DecoderConfig, 'maxBeamWidth'>,
  field: string,
): { kind: 'beam'; width: number; lengthPenalty: number } {
  if (!(width >= 1 && width <= bounds.maxBeamWidth))
    invalid(
      `${field}.width = ${width}: must be in [1, ${bounds.maxBeamWidth}]`,
      'use 1 (greedy) to a small width such as 4, or raise decoder.maxBeamWidth',
    );
  if (!Number.isFinite(lengthPenalty) || lengthPenalty < 0)
    invalid(
      `${field}.length_penalty = ${lengthPenalty}: must be a finite number >= 0`,
      'use 0 to rank by log-probability, or about 0.6 to stop favouring short hypotheses',
    );
  return { kind: 'beam', width, lengthPenalty };
}

/** prompt_tokens, or prompt_text through the model's tokenizer (bytes: UTF-8; ids: decimal ids). */
function promptOf(request: DecodeRequest, tokenizer: Tokenizer): number[] {
  if (request.promptTokens && request.promptTokens.length > 0) return [...request.promptTokens];
  return textTokens(request.promptText ?? '', tokenizer, 'prompt_text');
}

/** Text through the model's tokenizer (bytes: UTF-8; ids: whitespace-separated decimal ids). */
export function textTokens(text: string, tokenizer: Tokenizer, field: string): number[] {
  if (text === '') return [];
  try {
    if (tokenizer.kind === 'bytes') return [...Buffer.from(text, 'utf8')];
    if (tokenizer instanceof WordsTokenizer) return tokenizer.splitPrompt(text);
    return text
      .trim()
      .split(/\s+/)
      .map((part) => tokenizer.encode(part));
  } catch (error) {
    if (error instanceof InputError)
      throw new DecodeRejection('invalid_request', `${field}: ${error.message}`);
    throw error;
  }
}

/** A request type the served model does not answer is refused (wrong_model) with the one it does. */
export function requireModelTask(task: DecodeTaskName, spec: ServedTask): void {
  const needs: Record<DecodeTaskName, ServedTask['task']> = {
    generate: 'lm',
    tag: 'tag',
    classify: 'classify',
    forecast: 'forecast',
    transduce: 'seq2seq',
  };
  if (spec.task !== needs[task]) {
    const answered = Object.entries(needs)
      .filter(([, model]) => model === spec.task)
      .map(([name]) => name)
      .join(' or ');
    throw new DecodeRejection(
      'wrong_model',
      `a ${task} request needs a model of task "${needs[task]}" but this decoder serves task "${spec.task}" (fix: send ${answered} requests here, or send this one to a decoder of a ${needs[task]} model)`,
    );
  }
  if (task === 'generate' && spec.inputKind !== 'tokens')
    throw new DecodeRejection(
      'wrong_model',
      'generation feeds tokens back into the model, but this model reads features (fix: generate with a token model)',
    );
}

function checkEvents(events: readonly StreamEvent[], bounds: DecoderConfig): void {
  if (events.length > bounds.maxSequenceEvents)
    invalid(
      `${events.length} events are over decoder.maxSequenceEvents = ${bounds.maxSequenceEvents}`,
      'send fewer events per request, or raise decoder.maxSequenceEvents',
    );
}

/** An invalid_request rejection: the value and reason, then the fix. */
export function invalid(reason: string, fix: string): never {
  throw new DecodeRejection('invalid_request', `${reason} (fix: ${fix})`);
}
