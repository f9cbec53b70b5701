import type { Command } from 'commander';

import type { TensorDType } from '../../shared/codec/tensor-codec.js';
import { GRADIENT_ENCODINGS } from '../../shared/config/config-schema.js';
import { defaultConfig, loadConfigFile, type Config } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import {
  createKafkaClient,
  ensureTopics,
  withKafkaAdmin,
} from '../../shared/transport/kafka/index.js';
import { createMetricsRegistry, startMetricsServer } from '../../shared/metrics/index.js';
import { createWorkerMetrics } from '../../shared/metrics/worker-metrics.js';
import { count, EXIT, milliseconds, oneOf, port, seconds } from './options.js';

interface WorkerFlags {
  config?: string;
  brokers: string;
  group?: string;
  workerId?: string;
  training: boolean;
  stubModel?: boolean;
  maxBatchSize: number;
  sessionTimeoutMs: number;
  gradientEncoding?: TensorDType;
  modelId?: string;
  paramsWaitMs: number;
  paramsLockstepMs: number;
  createTopics?: boolean;
  partitions: number;
  replicationFactor: number;
  progressSeconds: number;
  metricsPort?: number;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'Stream worker: consumes <app>.events in a consumer group, keeps per-key state backed by <app>.state-changelog, writes prequential predictions to <app>.predictions and gradients to <app>.gradients, one Kafka transaction per batch (exactly once). SIGTERM/SIGINT: finish the batch in flight, leave the group, print a JSON summary.',
    )
    .option(
      '--config <file>',
      'model configuration (JSON, docs/design.md §7); must match the other services',
    )
    .requiredOption('--brokers <list>', 'Kafka bootstrap brokers, host:port[,host:port...]')
    .option('--group <id>', 'consumer group of the workers (default <app>.workers)')
    .option('--worker-id <id>', "this worker's id in gradients and logs (default <host>-<pid>)")
    .option('--no-training', 'inference and state only: no training steps, no gradients')
    .option(
      '--stub-model',
      'benchmark the data plane: a constant predictor replaces the network (implies --no-training)',
    )
    .option(
      '--max-batch-size <n>',
      'most events per batch, i.e. per transaction (bigger: fewer changelog writes per event, later predictions)',
      count('--max-batch-size', { example: 5000 }),
      5000,
    )
    .option(
      '--session-timeout-ms <ms>',
      'group session timeout: how soon the group notices a dead worker and moves its partitions',
      milliseconds('--session-timeout-ms', { example: 30_000 }),
      30_000,
    )
    .option(
      '--gradient-encoding <dtype>',
      'float32 (lossless), bfloat16 or float16 (half the bytes); default: config paramserver.gradientEncoding',
      oneOf('--gradient-encoding', GRADIENT_ENCODINGS),
    )
    .option(
      '--model-id <id>',
      'model id of the parameter versions on <app>.params (as the paramserver)',
    )
    .option(
      '--params-lockstep-ms <ms>',
      'lockstep training: end each transaction at a training step and wait up to this long for the published version that applied its gradient before the next event (0: never wait)',
      milliseconds('--params-lockstep-ms', { example: 10_000, zero: 'never wait' }),
      0,
    )
    .option(
      '--params-wait-ms <ms>',
      'training: how long to wait at start-up for a published parameter version',
      milliseconds('--params-wait-ms', { example: 30_000, zero: 'do not wait' }),
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
    .action(async (flags: WorkerFlags) => {
      await workerCommand(flags);
    });
}

async function workerCommand(flags: WorkerFlags): Promise<void> {
  // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
  const { selectBackend } = await import('../../shared/engine/select-backend.js');
  const { startWorker } = await import('../worker/run-worker.js');
  const logger = createLogger({ name: 'worker' });
  const config: Config = flags.config ? await loadConfigFile(flags.config) : defaultConfig();
  await selectBackend({ requested: config.backend, logger });
  const client = createKafkaClient({
    clientId: `${config.app}-worker`,
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
  const registry = createMetricsRegistry({ labels: { service: 'worker' } });
  const metricsServer =
    flags.metricsPort === undefined
      ? undefined
      : await startMetricsServer({ registry, port: flags.metricsPort });
  if (metricsServer) logger.info({ url: metricsServer.url }, 'serving Prometheus metrics');
  const worker = await startWorker({
    metrics: createWorkerMetrics(registry),
    config,
    client,
    logger,
    groupId: flags.group,
    workerId: flags.workerId,
    training: flags.training,
    stubModel: flags.stubModel,
    maxBatchSize: flags.maxBatchSize,
    sessionTimeoutMs: flags.sessionTimeoutMs,
    gradientDtype: flags.gradientEncoding,
    modelId: flags.modelId,
    paramsWaitMs: flags.paramsWaitMs,
    paramsLockstepMs: flags.paramsLockstepMs,
    // 0 = none, as in produce and run: the worker logs at most once per interval.
    progressIntervalMs: flags.progressSeconds === 0 ? Infinity : flags.progressSeconds * 1000,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(EXIT.interrupted); // second signal: leave now
    stopping = true;
    logger.info({ signal }, 'stopping: finishing the batch in flight, then leaving the group');
    void worker.stop();
  };
  process.on('SIGINT', () => stop('SIGINT')).on('SIGTERM', () => stop('SIGTERM'));
  const summary = await worker.done.finally(() => metricsServer?.close());
  process.stdout.write(JSON.stringify(summary) + '\n');
}
