import type { Command } from 'commander';
import { ConfigError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { BACKENDS, CELLS } from '../../shared/config/config-schema.js';
import { count, oneOf, seconds, usageError } from './options.js';

/** The model and batch sizes of `bench train`: option, meaning, default (also the example of a fix). */
const SIZES: ReadonlyArray<[option: string, meaning: string, initial: number]> = [
  ['--hidden <h>', 'hidden units', 256],
  ['--embedding <e>', 'embedding size', 64],
  ['--batch <b>', 'keys (windows) per training step', 64],
  ['--k1 <k>', 'steps whose loss counts per window', 32],
  ['--k2 <k>', 'window length back-propagated through (≥ k1)', 32],
  ['--layers <n>', 'stacked layers', 1],
];

export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description('Benchmarks of the code paths the services run.');
  const train = bench
    .command('train')
    .description(
      'Time the training step (byte-level LM on random tokens, Adam, loss over the last k1 of k2 steps); prints one JSON line {"tokensPerSecond", "backend", ...}.',
    )
    .option('--cell <cell>', CELLS.join(' | '), oneOf('--cell', CELLS), 'lstm');
  for (const [option, meaning, initial] of SIZES) {
    const name = option.split(' ')[0]!;
    train.option(option, meaning, count(name, { example: initial }), initial);
  }
  train
    .option(
      '--seconds <s>',
      'timed seconds after warm-up',
      seconds('--seconds', { example: 10 }),
      10,
    )
    .option('--backend <name>', BACKENDS.join(' | '), oneOf('--backend', BACKENDS), 'auto')
    .action(async (flags: Record<string, unknown>, command: Command) => {
      // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
      const { parseTrainBenchOptions, runTrainBench } = await import('../../bench/train-bench.js');
      let options: ReturnType<typeof parseTrainBenchOptions>;
      try {
        options = parseTrainBenchOptions(flags); // the limits and k2 ≥ k1
      } catch (err) {
        if (err instanceof ConfigError) usageError(command, err.message);
        throw err;
      }
      const logger = createLogger({ name: 'bench' });
      let lastPrint = Date.now();
      const result = await runTrainBench({
        ...options,
        logger,
        onProgress: (p) => {
          if (Date.now() - lastPrint < 5000) return;
          lastPrint = Date.now();
          process.stderr.write(
            `${p.phase}: ${p.steps} steps, ${Math.round(p.tokensPerSecond)} tokens/s, loss ${p.loss.toFixed(3)}\n`,
          );
        },
      });
      process.stdout.write(JSON.stringify(result) + '\n');
    });
}
