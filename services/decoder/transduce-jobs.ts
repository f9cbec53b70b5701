/**
 * What a request may ask of a seq2seq model (docs/design.md, "Decoder" and "Sequence to
 * sequence"): only `transduce`, of a source that encodes like a pair event's source, with a
 * usable decoding, n-best and target length. Any other request type is `wrong_model`; whatever
 * else is wrong is `invalid_request` naming the value, the reason and the fix.
 */
import type { DecodeRequest, TransduceAsk } from '../../shared/codec/decode-codec.js';
import type { DecoderConfig } from '../../shared/config/index.js';
import type { TransductionStrategy } from '../../shared/decoding/transduce.js';
import { InputError } from '../../shared/errors/index.js';
import { renderValue } from '../../shared/errors/render-value.js';
import type { Tokenizer } from '../../shared/events/tokenizer.js';
import { encodePair } from '../../shared/learner/seq2seq/pair-encoder.js';
import {
  checkAddressedModel,
  checkedBeam,
  DecodeRejection,
  invalid,
  requireModelTask,
  type ServedTask,
  taskOf,
  textTokens,
} from './decode-jobs.js';

/** The served model's task, as decode-jobs names models. */
export const SEQ2SEQ_TASK: ServedTask = { task: 'seq2seq', inputKind: 'tokens' };

/** An accepted transduce request, in model terms. */
export interface TransduceWork {
  readonly task: 'transduce';
  /** Source ids in [0, sourceVocabSize). */
  readonly source: readonly number[];
  /** Greedy, or beam with its width, α and n-best (≤ width). */
  readonly strategy: TransductionStrategy;
  /** Most target tokens (the end-of-target not counted). */
  readonly maxTargetLength: number;
}

export interface TransduceContext {
  readonly app: string;
  /** input.tokenizer over the source vocabulary (as pair events are encoded). */
  readonly sourceTokens: Tokenizer;
  /** The model's seq2seq.maxSourceLength / maxTargetLength. */
  readonly maxSourceLength: number;
  readonly maxTargetLength: number;
  readonly bounds: Pick<DecoderConfig, 'maxBeamWidth'>;
}

/** The work of a valid request to a seq2seq model; a DecodeRejection (with its code) otherwise. */
export function transduceWorkOf(request: DecodeRequest, context: TransduceContext): TransduceWork {
  checkAddressedModel(request, context.app);
  const { ask } = request;
  if (ask.kind !== 'transduce') {
    requireModelTask(taskOf(request, SEQ2SEQ_TASK), SEQ2SEQ_TASK);
    throw new Error(`unreachable: ${ask.kind} passed a seq2seq model's task check`);
  }
  if (request.key !== undefined)
    invalid(
      `key ${renderValue(request.key)} on a transduce request: a seq2seq model keeps no per-key state (each pair stands alone)`,
      'leave key out and send the whole source in transduce.source',
    );
  if ((request.promptTokens?.length ?? 0) > 0 || (request.promptText ?? '') !== '')
    invalid(
      'prompt_tokens / prompt_text on a transduce request',
      'send the source in transduce.source or transduce.source_text; prompts are for generate',
    );
  if ((request.stopTokens?.length ?? 0) > 0)
    invalid(
      `stop_tokens [${request.stopTokens!.join(', ')}] on a transduce request: a target ends at the model's end-of-target`,
      'leave stop_tokens out; bound the target with max_tokens',
    );
  const maxTargetLength = request.maxTokens || context.maxTargetLength;
  if (maxTargetLength > context.maxTargetLength)
    invalid(
      `max_tokens = ${maxTargetLength} is over the model's seq2seq.maxTargetLength = ${context.maxTargetLength}`,
      `ask for at most ${context.maxTargetLength} target tokens, or leave max_tokens 0 for that many`,
    );
  return {
    task: 'transduce',
    source: sourceOf(ask, context),
    strategy: strategyOf(ask, context),
    maxTargetLength,
  };
}

/** The source's ids, encoded and bounded as a pair event's source is. */
function sourceOf(ask: TransduceAsk, context: TransduceContext): number[] {
  if (ask.source.length > 0 && ask.sourceText !== '')
    invalid(
      `transduce has both source (${ask.source.length} tokens) and source_text ${renderValue(ask.sourceText, { maxChars: 40 })}`,
      'send the source once: as tokens in transduce.source, or as text in transduce.source_text',
    );
  const tokens =
    ask.source.length > 0
      ? ask.source
      : textTokens(ask.sourceText, context.sourceTokens, 'transduce.source_text');
  if (tokens.length === 0)
    invalid(
      'transduce request with an empty source',
      'send at least one source token in transduce.source, or the text in transduce.source_text',
    );
  try {
    return encodePair(
      { event: { key: '', source: [...tokens], target: [], eos: false }, index: 0 },
      {
        sourceTokens: context.sourceTokens,
        targetTokens: context.sourceTokens,
        maxSourceLength: context.maxSourceLength,
        maxTargetLength: 0,
      },
    ).source;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    throw new DecodeRejection('invalid_request', `transduce: ${error.message}`);
  }
}

function strategyOf(ask: TransduceAsk, context: TransduceContext): TransductionStrategy {
  const nBest = ask.nBest || 1;
  if (ask.decoding.kind === 'greedy') {
    if (nBest > 1)
      invalid(
        `transduce.n_best = ${nBest}: greedy decoding finds one hypothesis`,
        `ask for n_best 1, or decode with transduce.beam of width >= ${nBest}`,
      );
    return { type: 'greedy' };
  }
  const beam = checkedBeam(ask.decoding, context.bounds, 'transduce.beam');
  if (nBest > beam.width)
    invalid(
      `transduce.n_best = ${nBest}: a beam of width ${beam.width} keeps only ${beam.width} hypotheses`,
      `ask for at most ${beam.width}, or widen the beam to ${nBest}`,
    );
  return { type: 'beam', beamWidth: beam.width, lengthPenalty: beam.lengthPenalty, nBest };
}
