/**
 * `rnnstream decode transduce`: target sequences for a source from the decoder service of a
 * seq2seq model — greedy, or beam search with an n-best list — printed one hypothesis a line
 * with its score, or (`--json`) as the whole result.
 */
import { InvalidArgumentError, type Command } from 'commander';

import type { DecodeResult } from '../../shared/codec/decode-codec.js';
import { printResult, targetOf, withDecoderClient } from './decoder-client-cli.js';
import { count, decimal, usageError } from './options.js';

export interface TransduceFlags {
  brokers: string;
  config?: string;
  app?: string;
  source?: string;
  sourceIds?: number[];
  beamWidth?: number;
  lengthPenalty?: number;
  nBest?: number;
  maxTokens?: number;
  json?: boolean;
  timeoutMs: number;
}

/** The options only `decode transduce` takes (`decode` registers them with its own). */
export function addTransduceOptions(command: Command): Command {
  return command
    .option(
      '--source <text>',
      'transduce: the source as text the decoder tokenizes (bytes tokenizer: its characters; ids tokenizer: whitespace-separated ids)',
    )
    .option('--source-ids <ids>', 'transduce: the source as comma-separated token ids', tokenIds)
    .option(
      '--beam-width <k>',
      'transduce: beam search with k beams (default: greedy)',
      count('--beam-width', { example: 4 }),
    )
    .option(
      '--length-penalty <a>',
      'transduce with --beam-width: rank by log-probability / ((5 + length) / 6)^a (default 0: by log-probability)',
      decimal('--length-penalty', { example: 0.6, zero: 'rank by log-probability' }),
    )
    .option(
      '--n-best <n>',
      'transduce with --beam-width: hypotheses to print, best first (at most k; default 1)',
      count('--n-best', { example: 3 }),
    )
    .option(
      '--max-tokens <n>',
      "transduce: most target tokens (default and most: the model's seq2seq.maxTargetLength)",
      count('--max-tokens', { example: 20 }),
    )
    .option('--json', 'transduce: print the whole result as one JSON line');
}

/** Set when an option of `decode transduce` was given (so plain `decode` can refuse it). */
export function transduceOptionGiven(flags: TransduceFlags): string | undefined {
  const given: Array<[string, unknown]> = [
    ['--source', flags.source],
    ['--source-ids', flags.sourceIds],
    ['--beam-width', flags.beamWidth],
    ['--length-penalty', flags.lengthPenalty],
    ['--n-best', flags.nBest],
    ['--max-tokens', flags.maxTokens],
    ['--json', flags.json],
  ];
  return given.find(([, value]) => value !== undefined)?.[0];
}

export async function decodeTransduce(flags: TransduceFlags, command: Command): Promise<void> {
  if ((flags.source === undefined) === (flags.sourceIds === undefined))
    usageError(command, 'decode transduce: give the source as --source TEXT or --source-ids 1,2,3');
  if (flags.beamWidth === undefined && (flags.lengthPenalty ?? 0) !== 0)
    usageError(command, '--length-penalty ranks beam hypotheses: add --beam-width K');
  if (flags.beamWidth === undefined && (flags.nBest ?? 1) > 1)
    usageError(command, '--n-best needs a beam: add --beam-width K (K ≥ --n-best)');
  const { app, kafka } = await targetOf(flags, command);
  await withDecoderClient(
    { brokers: flags.brokers, app, kafka, name: 'decode' },
    async (client) => {
      const result = await client.transduce(
        {
          source: flags.source ?? flags.sourceIds!,
          beam:
            flags.beamWidth === undefined
              ? undefined
              : { width: flags.beamWidth, lengthPenalty: flags.lengthPenalty ?? 0 },
          nBest: flags.nBest,
          maxTokens: flags.maxTokens,
          deadlineMs: Date.now() + flags.timeoutMs,
        },
        { timeoutInMs: flags.timeoutMs + 5_000 },
      );
      if (flags.json || result.error) printResult(result);
      else printHypotheses(result);
    },
  );
}

/** One line per hypothesis, best first: rank, score, log p, stop/length, the text, the ids. */
function printHypotheses(result: DecodeResult): void {
  const lines = (result.hypotheses ?? []).map(
    (h, k) =>
      `${k + 1}\tscore ${h.score.toFixed(4)}\tlog p ${h.logProb.toFixed(4)}\t${h.finished ? 'stop' : 'length'}\t${JSON.stringify(h.text)}\t[${h.tokens.join(' ')}]`,
  );
  process.stdout.write(`${lines.join('\n')}\n(parameter version ${result.paramVersion})\n`);
}

function tokenIds(value: string): number[] {
  const ids = value.split(',').map((part) => (part.trim() === '' ? NaN : Number(part)));
  if (ids.length === 0 || !ids.every((id) => Number.isSafeInteger(id) && id >= 0))
    throw new InvalidArgumentError(
      `--source-ids must be comma-separated whole numbers ≥ 0, got '${value}' (fix: e.g. --source-ids 4,1,7)`,
    );
  return ids;
}
