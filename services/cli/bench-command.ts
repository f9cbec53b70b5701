import type { Command } from 'commander';
import { createLogger } from '../../shared/logging/logger.js';

export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description('Benchmarks of the code paths the services run.');
  bench
    .command('train')
    .description(
      'Time the training step (byte-level LM on random tokens, Adam, loss over the last k1 of k2 steps); prints one JSON line {"tokensPerSecond", "backend", ...}.',
    )
    .option('--cell <cell>', 'lstm | gru | rnn', 'lstm')
    .option('--hidden <h>', 'hidden units', '256')
    .option('--embedding <e>', 'embedding size', '64')
    .option('--batch <b>', 'keys (windows) per training step', '64')
    .option('--k1 <k>', 'steps whose loss counts per window', '32')
    .option('--k2 <k>', 'window length back-propagated through (≥ k1)', '32')
    .option('--layers <n>', 'stacked layers', '1')
    .option('--seconds <s>', 'timed seconds after warm-up', '10')
    .option('--backend <name>', 'auto | tensorflow | wasm | cpu', 'auto')
    .action(async (flags: Record<string, string>) => {
      // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
      const { parseTrainBenchOptions, runTrainBench } = await import('../../bench/train-bench.js');
      const options = parseTrainBenchOptions(flags);
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
