import type { Command } from 'commander';

import { createDecoderMetrics } from '../../shared/metrics/decoder-metrics.js';
import { count, milliseconds } from './options.js';
import {
  addServiceOptions,
  runUntilSignal,
  startServiceCommand,
  type ServiceFlags,
} from './service-command.js';

interface DecoderFlags extends ServiceFlags {
  group?: string;
  decoderId?: string;
  modelId?: string;
  paramsWaitMs: number;
  maxBatchSize?: number;
  maxWaitMs?: number;
  sessionTimeoutMs: number;
}

export function registerDecoderCommand(program: Command): void {
  addServiceOptions(
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
      ),
  ).action(async (flags: DecoderFlags) => {
    await decoderCommand(flags);
  });
}

async function decoderCommand(flags: DecoderFlags): Promise<void> {
  const { startDecoder } = await import('../decoder/run-decoder.js');
  const { config, logger, client, registry, probes, metricsServer, progressIntervalMs } =
    await startServiceCommand('decoder', flags);
  const decoder = await startDecoder({
    metrics: createDecoderMetrics(registry),
    probes,
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
    progressIntervalMs,
  });
  await runUntilSignal({
    service: decoder,
    logger,
    stopping: 'stopping: answering the requests already read, then leaving the group',
    metricsServer,
  });
}
