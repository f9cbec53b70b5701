import type { Command } from 'commander';

import { defaultConfig, loadConfigFile, type Config } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createMetricsRegistry, startMetricsServer } from '../../shared/metrics/index.js';
import { createDecoderMetrics } from '../../shared/metrics/decoder-metrics.js';
import {
  createKafkaClient,
  ensureTopics,
  withKafkaAdmin,
} from '../../shared/transport/kafka/index.js';
import { count, EXIT, milliseconds, port, seconds } from './options.js';

interface DecoderFlags {
  config?: string;
  brokers: string;
  group?: string;
  decoderId?: string;
  modelId?: string;
  paramsWaitMs: number;
  maxBatchSize?: number;
  maxWaitMs?: number;
  sessionTimeoutMs: number;
  createTopics?: boolean;
  partitions: number;
  replicationFactor: number;
  progressSeconds: number;
  metricsPort?: number;
}

export function registerDecoderCommand(program: Command): void {
  program
    .command('decoder')
    .description(
      "Decoder service: answers <app>.decode-requests (generate, tag, classify, forecast) on <app>.decode-results, from the newest published parameters and, for a request that names a key, from that key's state in <app>.state-changelog. Decoders of one app form a consumer group; requests are batched dynamically; each result commits exactly once with its request offset. SIGTERM/SIGINT: answer what was read, commit, leave the group, print a JSON summary.",
    )
    .option(
      '--config <file>',
      'model configuration (JSON, docs/design.md §7); must match the workers\' (decoder bounds: section "decoder")',
    )
    .requiredOption('--brokers <list>', 'Kafka bootstrap brokers, host:port[,host:port...]')
    .option('--group <id>', 'consumer group of the decoders (default <app>.decoders)')
    .option('--decoder-id <id>', "this decoder's id in logs (default <host>-<pid>)")
    .option(
      '--model-id <id>',
      'model id of the parameter versions on <app>.params (as the paramserver)',
    )
    .option(
      '--params-wait-ms <ms>',
      'how long to wait at start-up for a published parameter version before answering with the seeded initial parameters (version 0)',
      milliseconds('--params-wait-ms', { example: 30_000, zero: 'do not wait' }),
      30_000,
    )
    .option(
      '--max-batch-size <n>',
      'dynamic batching: most requests computed together (default: config decoder.maxBatchSize, 32)',
      count('--max-batch-size', { example: 32 }),
    )
    .option(
      '--max-wait-ms <ms>',
      'dynamic batching: longest a request waits for others to join its batch (default: config decoder.maxWaitMs, 5; 0: no waiting)',
      milliseconds('--max-wait-ms', { example: 5, zero: 'compute whatever is queued at once' }),
    )
    .option(
      '--session-timeout-ms <ms>',
      'group session timeout: how soon the group notices a dead decoder and moves its partitions',
      milliseconds('--session-timeout-ms', { example: 30_000 }),
      30_000,
    )
    .option('--create-topics', "create the app's topics first if they do not exist")
    .option(
      '--partitions <n>',
      'with --create-topics: partitions of the keyed topics',
      count('--partitions', { example: 4 }),
      4,
    )
    .option(
      '--replication-factor <n>',
      'with --create-topics: replication factor',
      count('--replication-factor', { example: 1 }),
      1,
    )
    .option(
      '--progress-seconds <s>',
      'seconds between progress log lines (0 = none)',
      seconds('--progress-seconds', { example: 10, zero: 'no progress lines' }),
      10,
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics on http://0.0.0.0:<port>/metrics (and /healthz); 0 picks a free port',
      port('--metrics-port'),
    )
    .action(async (flags: DecoderFlags) => {
      await decoderCommand(flags);
    });
}

async function decoderCommand(flags: DecoderFlags): Promise<void> {
  // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
  const { selectBackend } = await import('../../shared/engine/select-backend.js');
  const { startDecoder } = await import('../decoder/run-decoder.js');
  const logger = createLogger({ name: 'decoder' });
  const config: Config = flags.config ? await loadConfigFile(flags.config) : defaultConfig();
  await selectBackend({ requested: config.backend, logger });
  const client = createKafkaClient({
    clientId: `${config.app}-decoder`,
    brokers: flags.brokers,
    logger,
  });
  if (flags.createTopics) {
    await withKafkaAdmin({ client }, (admin) =>
      ensureTopics({
        admin,
        app: config.app,
        partitions: flags.partitions,
        replicationFactor: flags.replicationFactor,
        brokers: client.brokers,
        logger,
      }),
    );
  }
  const registry = createMetricsRegistry({ labels: { service: 'decoder' } });
  const metricsServer =
    flags.metricsPort === undefined
      ? undefined
      : await startMetricsServer({ registry, port: flags.metricsPort });
  if (metricsServer) logger.info({ url: metricsServer.url }, 'serving Prometheus metrics');
  const decoder = await startDecoder({
    metrics: createDecoderMetrics(registry),
    config,
    client,
    logger,
    groupId: flags.group,
    decoderId: flags.decoderId,
    modelId: flags.modelId,
    paramsWaitMs: flags.paramsWaitMs,
    maxBatchSize: flags.maxBatchSize,
    maxWaitMs: flags.maxWaitMs,
    sessionTimeoutMs: flags.sessionTimeoutMs,
    progressIntervalMs: flags.progressSeconds === 0 ? Infinity : flags.progressSeconds * 1000,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(EXIT.interrupted); // second signal: leave now
    stopping = true;
    logger.info(
      { signal },
      'stopping: answering the requests already read, then leaving the group',
    );
    void decoder.stop();
  };
  process.on('SIGINT', () => stop('SIGINT')).on('SIGTERM', () => stop('SIGTERM'));
  const summary = await decoder.done.finally(() => metricsServer?.close());
  process.stdout.write(JSON.stringify(summary) + '\n');
}
