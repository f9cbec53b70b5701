import type { Command } from 'commander';
import type { GenerationStrategy } from '../../shared/decoding/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { createTokenizer, decodeBytes } from '../../shared/events/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { loadParameterFile } from '../../shared/model/parameter-file.js';
import { BACKENDS } from '../../shared/config/config-schema.js';
import { count, decimal, fraction, oneOf, usageError } from './options.js';

interface GenerateFlags {
  prompt: string;
  params: string;
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
      'Continue a text prompt with a trained byte-level language model (parameters from `run --save-params`).',
    )
    .requiredOption(
      '--prompt <text>',
      'text to continue (its UTF-8 bytes are fed to the model first)',
    )
    .requiredOption(
      '--params <file>',
      'parameter file written by `rnnstream run --embedded --save-params FILE`',
    )
    .option(
      '--max-tokens <n>',
      'how many bytes to generate',
      count('--max-tokens', { example: 200 }),
      200,
    )
    .option(
      '--beam <k>',
      'beam search with k beams (deterministic); excludes the sampling options',
      count('--beam', { example: 4 }),
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
    .option('--backend <name>', BACKENDS.join(' | '), oneOf('--backend', BACKENDS), 'auto')
    .action(async (flags: GenerateFlags, command: Command) => {
      // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
      const { selectBackend } = await import('../../shared/engine/select-backend.js');
      const { RecurrentModel } = await import('../../shared/model/recurrent-model.js');
      const { beamSearch, generate } = await import('../../shared/decoding/index.js');
      const sampling =
        flags.temperature !== undefined || flags.topK !== undefined || flags.topP !== undefined;
      if (flags.beam !== undefined && sampling) {
        usageError(
          command,
          '--beam cannot be combined with --temperature/--top-k/--top-p (fix: choose beam search or sampling)',
        );
      }
      const logger = createLogger({ name: 'generate' });
      await selectBackend({ requested: flags.backend, logger });
      const file = await loadParameterFile(flags.params);
      if (file.spec.task !== 'lm') {
        throw new ConfigError(
          `'${flags.params}' holds a '${file.spec.task}' model; generate needs a language model (task.type "lm")`,
        );
      }
      const model = RecurrentModel.create({ spec: file.spec, seed: 1 });
      model.params.assignArrays(file.arrays);
      const tokenizer = createTokenizer({ kind: 'bytes', vocabSize: file.spec.vocabSize });
      const prompt = [...Buffer.from(flags.prompt, 'utf8')].map((b) => tokenizer.encode(b));
      let tokens: number[];
      if (flags.beam !== undefined) {
        tokens = beamSearch({ model, prompt, beamWidth: flags.beam, maxTokens: flags.maxTokens })
          .best.tokens;
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
        tokens = generate({ model, prompt, maxTokens: flags.maxTokens, strategy }).tokens;
      }
      process.stdout.write(`${flags.prompt}${decodeBytes(tokens)}\n`);
      model.dispose();
    });
}
