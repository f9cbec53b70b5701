import { Option, type Command } from 'commander';
import { defaultConfig, loadConfigFile, type Config } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { topicNames } from '../../shared/transport/kafka/index.js';
import { DEFAULT_BATCH_SIZE, produceInput, type ProduceProgress } from '../produce/index.js';
import {
  bytes,
  count,
  decimal,
  EXIT,
  INPUT_FORMATS,
  milliseconds,
  oneOf,
  seconds,
} from './options.js';

interface ProduceFlags {
  brokers: string;
  input: string[];
  inputFormat: (typeof INPUT_FORMATS)[number];
  config?: string;
  app?: string;
  topic?: string;
  createTopics?: boolean;
  partitions: number;
  replicationFactor: number;
  batchSize: number;
  rate?: number;
  deadLetter?: boolean;
  progressSeconds: number;
  maxBytesPerFile?: number;
  connectionTimeoutMs: number;
}

const DEFAULT_PARTITIONS = 4;

const EXIT_CODES = `
The last stdout line is the summary (JSON):
  {"produced": N, "skipped": S, "deadLettered": D, "seconds": X, "eventsPerSecond": Y,
   "topic": "<app>.events", "partitions": {"0": n0, "1": n1, ...}, "interrupted": false}
Bad input lines are reported on stderr (file, line, reason, fix), skipped and counted; they
never stop the run. SIGINT/SIGTERM stop reading, send what was read and print the summary;
a second Ctrl-C quits at once.

Exit codes:
  0    every event read was acknowledged (bad lines skipped; also after SIGINT/SIGTERM)
  1    invalid command line (unknown option, missing --brokers/--input, ill-formed number)
  2    configuration, input path or Kafka problem (unreachable brokers, missing topic, a
       send that failed after retries); the message says what, why and the fix
  130  second SIGINT: stopped without flushing
`;

export function registerProduceCommand(program: Command): void {
  program
    .command('produce')
    .description(
      "Replay a JSON-lines or text input into the app's events topic on Kafka (Event protobuf, keyed by sequence key, in input order), then print a summary (last stdout line, JSON).",
    )
    .addOption(
      new Option('--brokers <host:port,...>', 'Kafka bootstrap brokers, comma-separated')
        .env('KAFKA_BROKERS')
        .makeOptionMandatory(),
    )
    .requiredOption(
      '--input <path...>',
      'input file(s); for --input-format text, files or directories (one sequence per file)',
    )
    .option(
      '--input-format <format>',
      'jsonl: one event per line; text: each file is one sequence of UTF-8 bytes (of words with input.tokenizer "words") keyed by its file name, files interleaved byte by byte',
      oneOf('--input-format', INPUT_FORMATS),
      'jsonl',
    )
    .option(
      '--config <file>',
      'configuration (JSON, docs/design.md §7): its "app" names the topics, its "limits" bound each event',
    )
    .option(
      '--app <id>',
      'app id (overrides the config): topics are <app>.events, <app>.dead-letter',
    )
    .option('--topic <name>', 'events topic (default <app>.events)')
    .option(
      '--create-topics',
      "create the app's topics first if missing (events, changelog, ... with their policies; existing ones are kept)",
    )
    .option(
      '--partitions <n>',
      'with --create-topics: partitions of new keyed topics',
      count('--partitions', { example: DEFAULT_PARTITIONS }),
      DEFAULT_PARTITIONS,
    )
    .option(
      '--replication-factor <n>',
      'with --create-topics: replication factor of new topics (1 for a single broker)',
      count('--replication-factor', { example: 1 }),
      1,
    )
    .option(
      '--batch-size <n>',
      'records per send request',
      count('--batch-size', { example: DEFAULT_BATCH_SIZE }),
      DEFAULT_BATCH_SIZE,
    )
    .option(
      '--rate <events/s>',
      'throttle to at most this many events per second on average (demos, benchmarks)',
      decimal('--rate', { example: 1000 }),
    )
    .option(
      '--dead-letter',
      'also send bad lines to <app>.dead-letter (DeadLetter message with the raw line and the reason)',
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
      '--connection-timeout-ms <ms>',
      'give up connecting to a broker after this long (per attempt)',
      milliseconds('--connection-timeout-ms', { example: 3_000 }),
      3_000,
    )
    .addHelpText('after', EXIT_CODES)
    .action(async (flags: ProduceFlags) => {
      await produceCommand(flags);
    });
}

async function produceCommand(flags: ProduceFlags): Promise<void> {
  const logger = createLogger({ name: 'produce' });
  const config: Config = flags.config ? await loadConfigFile(flags.config) : defaultConfig();
  const app = flags.app ?? config.app;
  const names = topicNames(app); // a ConfigError for an app id that cannot prefix topic names
  const topic = flags.topic ?? names.events;

  const abort = new AbortController();
  const stop = (signal: string): void => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted); // second Ctrl-C: leave now
    logger.info({ signal }, 'stopping: no more input is read; sending what was read');
    abort.abort();
  };
  process.on('SIGINT', () => stop('SIGINT')).on('SIGTERM', () => stop('SIGTERM'));

  let last = { produced: 0, seconds: 0 };
  const onProgress = (p: ProduceProgress): void => {
    const recent =
      p.seconds > last.seconds ? (p.produced - last.produced) / (p.seconds - last.seconds) : 0;
    last = p;
    const parts = [`${p.produced} events sent`, `${Math.round(recent)} events/s`];
    if (p.skipped > 0) parts.push(`${p.skipped} skipped`);
    parts.push(`${p.seconds.toFixed(0)} s`);
    logger.info({ ...p, recentEventsPerSecond: recent }, parts.join(' · '));
  };

  const summary = await produceInput({
    brokers: flags.brokers,
    kafka: config.kafka,
    connectionTimeoutMs: flags.connectionTimeoutMs,
    topic,
    deadLetterTopic: flags.deadLetter ? names.deadLetter : undefined,
    createTopics: flags.createTopics
      ? { app, partitions: flags.partitions, replicationFactor: flags.replicationFactor }
      : undefined,
    inputPaths: flags.input,
    inputFormat: flags.inputFormat,
    maxBytesPerFile: flags.maxBytesPerFile,
    batchSize: flags.batchSize,
    limits: config.limits,
    words: config.input.tokenizer === 'words' ? config.input : undefined,
    ratePerSecond: flags.rate,
    signal: abort.signal,
    logger,
    progressIntervalMs: flags.progressSeconds * 1000,
    onProgress,
  });
  logger.info({ topic }, 'produce finished');
  process.stdout.write(JSON.stringify(summary) + '\n');
}
