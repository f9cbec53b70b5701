import type { Command } from 'commander';
import { BACKENDS } from '../../shared/config/config-schema.js';
import { ConfigError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { loadParameterFile } from '../../shared/model/parameter-file.js';
import type { Seq2seqSpec } from '../../shared/model/seq2seq/seq2seq-spec.js';
import { count, decimal, oneOf } from './options.js';

interface TransduceFlags {
  params: string;
  source: string[];
  beam?: number;
  lengthPenalty: number;
  nBest: number;
  maxTokens?: number;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
}

/**
 * `rnnstream transduce`: target sequences for sources with a seq2seq model saved by
 * `run --embedded --save-params`, greedy or by beam search with an n-best list. One JSON line per
 * source: {source, hypotheses: [{tokens, text, logProb, score, finished}]}.
 */
export function registerTransduceCommand(program: Command): void {
  program
    .command('transduce')
    .description(
      'Decode a target for each source with a sequence-to-sequence model (task.type "seq2seq") from a parameter file written by `run --embedded --save-params`: greedy, or beam search with an n-best list and scores. Prints one JSON line per source.',
    )
    .requiredOption(
      '--params <file>',
      'parameter file written by `rnnstream run --embedded --save-params FILE`',
    )
    .requiredOption(
      '--source <tokens>',
      'a source: its characters (bytes tokenizer) or whitespace-separated token ids (ids tokenizer); repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--beam <k>',
      'beam search with k beams (default: greedy)',
      count('--beam', { example: 4 }),
    )
    .option(
      '--length-penalty <a>',
      'beam search: rank by log-probability / ((5 + length) / 6)^a (0: raw log-probability)',
      decimal('--length-penalty', { example: 0.6, zero: 'rank by log-probability' }),
      0,
    )
    .option(
      '--n-best <n>',
      'beam search: hypotheses per source',
      count('--n-best', { example: 4 }),
      1,
    )
    .option(
      '--max-tokens <n>',
      "most target tokens (default: the model's seq2seq.maxTargetLength)",
      count('--max-tokens', { example: 50 }),
    )
    .option('--backend <name>', BACKENDS.join(' | '), oneOf('--backend', BACKENDS), 'auto')
    .action(async (flags: TransduceFlags) => transduceOffline(flags));
}

async function transduceOffline(flags: TransduceFlags): Promise<void> {
  // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
  const { selectBackend } = await import('../../shared/engine/select-backend.js');
  const { Seq2seqModel } = await import('../../shared/model/seq2seq/seq2seq-model.js');
  const { transduce } = await import('../../shared/decoding/transduce.js');
  const { createTokenizer } = await import('../../shared/events/index.js');
  await selectBackend({ requested: flags.backend, logger: createLogger({ name: 'transduce' }) });
  const file = await loadParameterFile(flags.params);
  const spec = file.spec as unknown as Seq2seqSpec;
  const config = file.extra.config as
    { input?: { tokenizer?: 'bytes' | 'ids' }; seq2seq?: { maxTargetLength?: number } } | undefined;
  if (!('targetVocabSize' in spec) || config === undefined)
    throw new ConfigError(
      `'${flags.params}' does not hold a seq2seq model (fix: pass a file saved by \`run --embedded --save-params\` with task.type "seq2seq")`,
    );
  const model = Seq2seqModel.create({ spec, seed: 1 });
  try {
    model.params.assignArrays(file.arrays);
    model.params.version = file.version;
    const kind = config.input?.tokenizer ?? 'bytes';
    const sourceTokens = createTokenizer({ kind, vocabSize: spec.sourceVocabSize });
    const targetTokens = createTokenizer({ kind, vocabSize: spec.targetVocabSize });
    const sources = flags.source.map((text) =>
      kind === 'bytes'
        ? [...Buffer.from(text, 'utf8')]
        : text
            .trim()
            .split(/\s+/)
            .map((id) => sourceTokens.encode(id)),
    );
    const results = transduce({
      model,
      sources,
      strategy:
        flags.beam === undefined
          ? { type: 'greedy' }
          : {
              type: 'beam',
              beamWidth: flags.beam,
              lengthPenalty: flags.lengthPenalty,
              nBest: flags.nBest,
            },
      maxTargetLength: flags.maxTokens ?? config.seq2seq?.maxTargetLength ?? 64,
    });
    results.forEach((hypotheses, i) => {
      const line = {
        source: flags.source[i],
        paramVersion: model.params.version,
        hypotheses: hypotheses.map((h) => ({
          tokens: h.tokens,
          text: h.tokens.map((id) => targetTokens.decode(id)).join(kind === 'bytes' ? '' : ' '),
          logProb: h.logProb,
          score: h.score,
          finished: h.finished,
        })),
      };
      process.stdout.write(JSON.stringify(line) + '\n');
    });
  } finally {
    model.dispose();
  }
}
