/**
 * A pair event's tokens as model ids (docs/design.md, "Sequence to sequence"): source and target
 * through input.tokenizer (the target with seq2seq.targetVocabSize ids), lengths bounded by
 * seq2seq.maxSourceLength / maxTargetLength. Whatever is wrong is an InputError of this event
 * alone (skipped or dead-lettered), never a crash.
 */
import { InputError } from '../../errors/index.js';
import type { StreamEvent, Tokenizer } from '../../events/index.js';

export interface EncodedPair {
  readonly key: string;
  /** Position in the input (embedded) or offset in the events partition (worker). */
  readonly index: number;
  readonly line?: number | undefined;
  readonly source: number[];
  readonly target: number[];
}

export interface PairEncoding {
  readonly sourceTokens: Tokenizer;
  readonly targetTokens: Tokenizer;
  readonly maxSourceLength: number;
  readonly maxTargetLength: number;
}

export function encodePair(
  { event, index, line }: { event: StreamEvent; index: number; line?: number | undefined },
  { sourceTokens, targetTokens, maxSourceLength, maxTargetLength }: PairEncoding,
): EncodedPair {
  if (event.source === undefined || event.target === undefined)
    throw new InputError({
      line,
      reason: `a ${event.token !== undefined ? '"token"' : '"features"'} event reached a seq2seq model, which learns from pairs`,
      fix: 'send each pair as one event {"key": .., "source": [..], "target": [..]}',
    });
  const checkLength = (side: 'source' | 'target', length: number, max: number): void => {
    if (length > max)
      throw new InputError({
        line,
        reason: `the ${side} has ${length} tokens, over seq2seq.max${side === 'source' ? 'Source' : 'Target'}Length = ${max}`,
        fix: `split or drop such pairs, or raise seq2seq.max${side === 'source' ? 'Source' : 'Target'}Length in the config`,
      });
  };
  checkLength('source', event.source.length, maxSourceLength);
  checkLength('target', event.target.length, maxTargetLength);
  const encode = (tokens: Tokenizer, list: ReadonlyArray<string | number>, side: string) =>
    list.map((token, i) => {
      try {
        return tokens.encode(token, { line });
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw new InputError({ line, reason: `${side}[${i}]: ${error.reason}`, fix: fixOf(error) });
      }
    });
  return {
    key: event.key,
    index,
    line,
    source: encode(sourceTokens, event.source, 'source'),
    target: encode(targetTokens, event.target, 'target'),
  };
}

function fixOf(error: InputError): string | undefined {
  return /\(fix: (.*)\)$/s.exec(error.message.slice(error.reason.length))?.[1];
}
