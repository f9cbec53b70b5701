import type { Command } from 'commander';
import { ConfigError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { BACKENDS, CELLS } from '../../shared/config/config-schema.js';
import { count, oneOf, seconds, usageError } from './options.js';

export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description('Benchmarks of the code paths the services run.');
  bench
    .command('train')
    .description(
      'Time the training step (byte-level LM on random tokens, Adam, loss over the last k1 of k2 steps); prints one JSON line {"tokensPerSecond", "backend", ...}.',
    )
    .option('--cell <cell>', CELLS.join(' | '), oneOf(CELLS), 'lstm')
    .option('--hidden <h>', 'hidden units', count('--hidden', { example: 256 }), 256)
    .option('--embedding <e>', 'embedding size', count('--embedding', { example: 64 }), 64)
    .option(
      '--batch <b>',
      'keys (windows) per training step',
      count('--batch', { example: 64 }),
      64,
    )
    .option('--k1 <k>', 'steps whose loss counts per window', count('--k1', { example: 32 }), 32)
    .option(
      '--k2 <k>',
      'window length back-propagated through (≥ k1)',
      count('--k2', { example: 32 }),
      32,
    )
    .option('--layers <n>', 'stacked layers', count('--layers', { example: 1 }), 1)
    .option(
      '--seconds <s>',
      'timed seconds after warm-up',
      seconds('--seconds', { example: 10 }),
      10,
    )
    .option('--backend <name>', BACKENDS.join(' | '), oneOf(BACKENDS), 'auto')
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
