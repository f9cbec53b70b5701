import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { defaultConfig, loadConfigFile, type Config } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { saveParameterFile } from '../../shared/model/parameter-file.js';
import { wordsVocabulary } from '../../shared/vocabulary/words-tokenizer.js';
import { formatProgress } from '../embedded/progress-line.js';
import type { RunSummary } from '../embedded/prequential-summary.js';
import {
  createMetricsRegistry,
  createWorkerMetrics,
  registerBuildInfo,
  startMetricsServer,
} from '../../shared/metrics/index.js';
import { bytes, EXIT, INPUT_FORMATS, oneOf, port, seconds } from './options.js';

interface RunFlags {
  embedded?: boolean;
  config?: string;
  input: string[];
  inputFormat: (typeof INPUT_FORMATS)[number];
  output?: string;
  summary?: string;
  report?: string;
  training: boolean;
  saveParams?: string;
  progressSeconds: number;
  maxBytesPerFile?: number;
  metricsPort?: number;
  metricsHost: string;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'Learn online from a stream of events, writing one prequential prediction per event and a summary (last stdout line, JSON).',
    )
    .option(
      '--embedded',
      'run the whole pipeline in this process with an in-process bus (no broker)',
    )
    .option(
      '--config <file>',
      'model configuration (JSON, docs/design.md §7); defaults apply to every missing key',
    )
    .requiredOption(
      '--input <path...>',
      'input file(s); for --input-format text, files or directories (one sequence per file)',
    )
    .option(
      '--input-format <format>',
      'jsonl: one event per line; text: each file is one sequence of UTF-8 bytes (of words with input.tokenizer "words")',
      oneOf('--input-format', INPUT_FORMATS),
      'jsonl',
    )
    .option('--output <file>', 'write one prediction per event as JSON lines')
    .option('--summary <file>', 'also write the summary JSON to this file')
    .option(
      '--report <file>',
      'write a self-contained HTML page: learning curve against the baseline, throughput over time, per-class / per-horizon tables',
    )
    .option('--no-training', 'predict only: keep per-key state but never update parameters')
    .option(
      '--save-params <file>',
      'save the learned parameters at the end (for `rnnstream generate --params`)',
    )
    .option(
      '--progress-seconds <s>',
      'seconds between progress lines on stderr (0 = none)',
      seconds('--progress-seconds', { example: 5, zero: 'no progress lines' }),
      5,
    )
    .option(
      '--max-bytes-per-file <n>',
      'text input: read at most this many bytes of each file',
      bytes('--max-bytes-per-file', { example: 1_000_000 }),
    )
    .option(
      '--metrics-port <port>',
      'while running, serve Prometheus metrics (the worker\'s families, service="embedded") on http://<metrics-host>:<port>/metrics, and /healthz and /readyz; 0 picks a free port',
      port('--metrics-port'),
    )
    .option(
      '--metrics-host <address>',
      'address the metrics server listens on (with --metrics-port)',
      '0.0.0.0',
    )
    .action(async (flags: RunFlags) => {
      if (!flags.embedded) {
        throw new ConfigError(
          "only embedded mode runs in this build: add --embedded (Kafka mode arrives with the 'worker' service)",
        );
      }
      await runCommand(flags);
    });
}

async function runCommand(flags: RunFlags): Promise<void> {
  // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
  const { selectBackend } = await import('../../shared/engine/select-backend.js');
  const { runEmbedded } = await import('../embedded/run-embedded.js');
  const { renderHtmlReport } = await import('../embedded/html-report.js');
  const logger = createLogger({ name: 'run' });
  const config: Config = flags.config ? await loadConfigFile(flags.config) : defaultConfig();
  const { backend } = await selectBackend({ requested: config.backend, logger });
  const abort = new AbortController();
  const stop = (signal: string): void => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted); // second Ctrl-C: leave now
    logger.info(
      { signal },
      'stopping: no more input is read; finishing what was read, then writing the summary',
    );
    abort.abort();
  };
  process.on('SIGINT', () => stop('SIGINT')).on('SIGTERM', () => stop('SIGTERM'));
  const registry = createMetricsRegistry({ labels: { service: 'embedded' } });
  registerBuildInfo(registry, { backend });
  const metricsServer =
    flags.metricsPort === undefined
      ? undefined
      : await startMetricsServer({ registry, port: flags.metricsPort, host: flags.metricsHost });
  if (metricsServer) logger.info({ url: metricsServer.url }, 'serving Prometheus metrics');
  const started = Date.now();
  const runOptions = {
    metrics: metricsServer ? createWorkerMetrics(registry) : undefined,
    config,
    inputPaths: flags.input,
    inputFormat: flags.inputFormat,
    outputPath: flags.output,
    logger,
    signal: abort.signal,
    training: flags.training,
    maxBytesPerFile: flags.maxBytesPerFile,
    progressIntervalMs: flags.progressSeconds * 1000,
    onProgress: (progress: RunSummary) => logger.info(progress, formatProgress(progress, started)),
  };
  // A seq2seq model learns from pairs, through its own loop (services/embedded/run-seq2seq.ts).
  const { summary, history, spec, params, vocabulary, dispose } =
    config.task.type === 'seq2seq'
      ? await import('../embedded/run-seq2seq.js').then(async ({ runSeq2seqEmbedded }) => {
          const run = await runSeq2seqEmbedded(runOptions).finally(() => metricsServer?.close());
          const { spec, params } = run.learner.model;
          return { ...run, spec, params, vocabulary: undefined };
        })
      : await runEmbedded(runOptions)
          .finally(() => metricsServer?.close())
          .then(({ summary, history, learner }) => ({
            summary,
            history,
            spec: learner.spec,
            params: learner.model.params,
            // input.tokenizer "words": the ids the parameters were trained with, for generate --params.
            vocabulary:
              learner.tokenizer.kind === 'words'
                ? wordsVocabulary(learner.tokenizer).toJSON()
                : undefined,
            dispose: () => learner.dispose(),
          }));
  if (flags.saveParams)
    await saveParameterFile(flags.saveParams, {
      spec,
      params,
      config,
      ...(vocabulary ? { vocabulary } : {}),
    });
  dispose();
  const json = JSON.stringify(summary);
  if (flags.summary) await writeFile(flags.summary, json + '\n');
  if (flags.report) {
    const inputs = flags.input.map((path) => basename(path)).join(', ');
    const title = `rnnstream ${config.task.type} on ${inputs}`;
    await writeFile(flags.report, renderHtmlReport({ title, summary, history }));
    logger.info({ report: flags.report }, 'wrote the HTML report');
  }
  logger.info({ backend }, 'run finished');
  process.stdout.write(json + '\n');
}
