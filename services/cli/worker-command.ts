import type { Command } from 'commander';

import type { TensorDType } from '../../shared/codec/tensor-codec.js';
import { GRADIENT_ENCODINGS } from '../../shared/config/config-schema.js';
import { createWorkerMetrics } from '../../shared/metrics/worker-metrics.js';
import { count, milliseconds, oneOf } from './options.js';
import {
  addServiceOptions,
  runUntilSignal,
  startServiceCommand,
  type ServiceFlags,
} from './service-command.js';

interface WorkerFlags extends ServiceFlags {
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
}

export function registerWorkerCommand(program: Command): void {
  addServiceOptions(
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
      ),
  ).action(async (flags: WorkerFlags) => {
    await workerCommand(flags);
  });
}

async function workerCommand(flags: WorkerFlags): Promise<void> {
  const { startWorker } = await import('../worker/run-worker.js');
  const { config, logger, client, registry, probes, metricsServer, progressIntervalMs } =
    await startServiceCommand('worker', flags);
  const worker = await startWorker({
    metrics: createWorkerMetrics(registry),
    probes,
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
    progressIntervalMs,
  });
  await runUntilSignal({
    service: worker,
    logger,
    stopping: 'stopping: finishing the batch in flight, then leaving the group',
    metricsServer,
  });
}
