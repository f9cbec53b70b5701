import type { Command } from 'commander';
import type { GenerationStrategy } from '../../shared/decoding/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { createTokenizer, decodeBytes } from '../../shared/events/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { loadParameterFile } from '../../shared/model/parameter-file.js';
import { wordPromptIds, wordsText } from '../../shared/vocabulary/word-text.js';
import { wordsOfParameterFile } from '../../shared/vocabulary/parameter-file-vocabulary.js';
import { BACKENDS } from '../../shared/config/config-schema.js';
import type { DecodeAsk } from '../../shared/codec/decode-codec.js';
import { count, decimal, fraction, milliseconds, oneOf, usageError } from './options.js';
import { printResult, targetOf, withDecoderClient } from './decoder-client-cli.js';

interface GenerateFlags {
  prompt: string;
  params?: string;
  brokers?: string;
  config?: string;
  app?: string;
  key?: string;
  stream?: boolean;
  stopToken?: number[];
  lengthPenalty: number;
  timeoutMs: number;
  json?: boolean;
  maxTokens: number;
  beam?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed: number;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description(
      "Continue a text prompt with a language model: offline from a parameter file (`--params`, from `run --save-params`), or through the decoder service (`--brokers`), which uses the newest published parameters and can continue from a sequence key's state (`--key`).",
    )
    .requiredOption(
      '--prompt <text>',
      'text to continue (its UTF-8 bytes, or for a words model its words, are fed to the model first; may be "" with --key)',
    )
    .option(
      '--params <file>',
      'offline: parameter file written by `rnnstream run --embedded --save-params FILE`',
    )
    .option(
      '--brokers <list>',
      'service: send the request to the decoders of the app on these Kafka brokers',
    )
    .option('--config <file>', 'service: the model configuration (its `app` names the topics)')
    .option('--app <id>', 'service: the app id (instead of --config)')
    .option(
      '--key <key>',
      "service: continue from this sequence key's current state (prompt appended)",
    )
    .option('--stream', 'service: print tokens as they are produced (partial results)')
    .option(
      '--stop-token <id>',
      'end generation right after this token id (repeatable)',
      (value: string, previous: number[] = []) => [
        ...previous,
        count('--stop-token', { example: 10, min: 0 })(value),
      ],
    )
    .option(
      '--max-tokens <n>',
      'how many tokens (bytes, or words for a words model) to generate',
      count('--max-tokens', { example: 200 }),
      200,
    )
    .option(
      '--beam <k>',
      'beam search with k beams (deterministic); excludes the sampling options',
      count('--beam', { example: 4 }),
    )
    .option(
      '--length-penalty <a>',
      'beam search: rank by log-probability / ((5 + length) / 6)^a (0: raw log-probability)',
      decimal('--length-penalty', { example: 0.6, zero: 'rank by log-probability' }),
      0,
    )
    .option(
      '--temperature <t>',
      'sampling temperature (0 = greedy)',
      decimal('--temperature', { example: 0.8, zero: 'greedy' }),
    )
    .option(
      '--top-k <k>',
      'sample among the k most likely bytes',
      count('--top-k', { example: 40 }),
    )
    .option(
      '--top-p <p>',
      'sample from the smallest set of bytes with probability mass ≥ p (0 < p ≤ 1)',
      fraction('--top-p', { example: 0.9 }),
    )
    .option('--seed <n>', 'seed of the sampler', count('--seed', { example: 1 }), 1)
    .option(
      '--timeout-ms <ms>',
      'service: how long to wait for the result (also the request deadline)',
      milliseconds('--timeout-ms', { example: 30_000 }),
      30_000,
    )
    .option('--json', 'service: print the whole result as one JSON line')
    .option('--backend <name>', BACKENDS.join(' | '), oneOf('--backend', BACKENDS), 'auto')
    .action(async (flags: GenerateFlags, command: Command) => {
      const sampling =
        flags.temperature !== undefined || flags.topK !== undefined || flags.topP !== undefined;
      if (flags.beam !== undefined && sampling) {
        usageError(
          command,
          '--beam cannot be combined with --temperature/--top-k/--top-p (fix: choose beam search or sampling)',
        );
      }
      if ((flags.params === undefined) === (flags.brokers === undefined))
        usageError(
          command,
          'give exactly one of --params FILE (offline) and --brokers LIST (the decoder service)',
        );
      if (flags.brokers !== undefined) await generateWithService(flags, command, sampling);
      else await generateOffline(flags, sampling);
    });
}

async function generateWithService(
  flags: GenerateFlags,
  command: Command,
  sampling: boolean,
): Promise<void> {
  const { app, kafka } = await targetOf(flags, command);
  const ask: DecodeAsk =
    flags.beam !== undefined
      ? { kind: 'beam', width: flags.beam, lengthPenalty: flags.lengthPenalty }
      : sampling
        ? {
            kind: 'sample',
            temperature: flags.temperature ?? 1,
            topK: flags.topK ?? 0,
            topP: flags.topP ?? 0,
            seed: flags.seed,
          }
        : { kind: 'greedy' };
  await withDecoderClient(
    { brokers: flags.brokers!, app, kafka, name: 'generate' },
    async (client) => {
      let streamed = false;
      const result = await client.request(
        {
          key: flags.key,
          promptText: flags.prompt,
          maxTokens: flags.maxTokens,
          stopTokens: flags.stopToken,
          ask,
          stream: flags.stream ?? false,
          deadlineMs: Date.now() + flags.timeoutMs,
        },
        {
          timeoutInMs: flags.timeoutMs + 5_000,
          onPartial: (partial) => {
            if (flags.json) return;
            if (!streamed) process.stdout.write(flags.prompt);
            streamed = true;
            process.stdout.write(partial.text ?? '');
          },
        },
      );
      if (flags.json) printResult(result);
      else if (result.error) printResult(result);
      else process.stdout.write(streamed ? '\n' : `${flags.prompt}${result.text ?? ''}\n`);
    },
  );
}

async function generateOffline(flags: GenerateFlags, sampling: boolean): Promise<void> {
  // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
  const { selectBackend } = await import('../../shared/engine/select-backend.js');
  const { RecurrentModel } = await import('../../shared/model/recurrent-model.js');
  const { beamSearch, generate } = await import('../../shared/decoding/index.js');
  const logger = createLogger({ name: 'generate' });
  await selectBackend({ requested: flags.backend, logger });
  const file = await loadParameterFile(flags.params!);
  if (file.spec.task !== 'lm') {
    throw new ConfigError(
      `'${flags.params}' holds a '${file.spec.task}' model; generate needs a language model (task.type "lm")`,
    );
  }
  const model = RecurrentModel.create({ spec: file.spec, seed: 1 });
  model.params.assignArrays(file.arrays);
  const words = wordsOfParameterFile(file, flags.params!);
  let prompt: number[];
  if (words) prompt = wordPromptIds(flags.prompt, words.options, words.vocabulary);
  else {
    const tokenizer = createTokenizer({ kind: 'bytes', vocabSize: file.spec.vocabSize });
    prompt = [...Buffer.from(flags.prompt, 'utf8')].map((b) => tokenizer.encode(b));
  }
  let tokens: number[];
  if (flags.beam !== undefined) {
    tokens = beamSearch({
      model,
      prompt,
      beamWidth: flags.beam,
      maxTokens: flags.maxTokens,
      lengthPenalty: flags.lengthPenalty,
    }).best.tokens;
  } else {
    const strategy: GenerationStrategy = sampling
      ? {
          kind: 'sample',
          temperature: flags.temperature ?? 1,
          topK: flags.topK,
          topP: flags.topP,
          seed: flags.seed,
        }
      : { kind: 'greedy' };
    tokens = generate({
      model,
      prompt,
      maxTokens: flags.maxTokens,
      strategy,
      stopAt: flags.stopToken,
    }).tokens;
  }
  process.stdout.write(
    words
      ? `${flags.prompt} ${wordsText(tokens, words.vocabulary)}\n`
      : `${flags.prompt}${decodeBytes(tokens)}\n`,
  );
  model.dispose();
}
