/**
 * What the Kafka service commands (`worker`, `decoder`) share: their common options, the start-up
 * (configuration, tensor backend, Kafka client, the app's topics, the metrics server) and the
 * stop on SIGTERM / SIGINT.
 */
import type { Command } from 'commander';

import { defaultConfig, loadConfigFile, type Config } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import {
  createMetricsRegistry,
  registerBuildInfo,
  ServiceProbes,
  startMetricsServer,
  type MetricsServer,
  type Registry,
} from '../../shared/metrics/index.js';
import {
  createKafkaClient,
  ensureTopics,
  withKafkaAdmin,
  type KafkaClient,
} from '../../shared/transport/kafka/index.js';
import { exitWhenStopped } from './exit-when-stopped.js';
import { count, EXIT, port, seconds } from './options.js';

export interface ServiceFlags {
  config?: string;
  brokers: string;
  createTopics?: boolean;
  partitions: number;
  replicationFactor: number;
  progressSeconds: number;
  metricsPort?: number;
  metricsHost: string;
}

/** What each service's /readyz waits for until its parts say it is done (docs/design.md). */
const READINESS: Record<'worker' | 'decoder', Record<string, string>> = {
  worker: {
    parameters: 'waiting for a parameter version on <app>.params',
    group: 'joining the consumer group of <app>.events',
    restore: 'restoring the assigned partitions from <app>.state-changelog',
  },
  decoder: {
    parameters: 'waiting for a parameter version on <app>.params',
    group: 'joining the consumer group of <app>.decode-requests',
    restore: 'reading the state changelog partitions of the assigned request partitions',
  },
};

/** --create-topics, --partitions, --replication-factor, --progress-seconds, --metrics-port, --metrics-host. */
export function addServiceOptions(command: Command): Command {
  return command
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
      'serve Prometheus metrics on http://<metrics-host>:<port>/metrics, and the /healthz and /readyz probes; 0 picks a free port',
      port('--metrics-port'),
    )
    .option(
      '--metrics-host <address>',
      'address the metrics server listens on (with --metrics-port)',
      '0.0.0.0',
    );
}

export interface StartedService {
  readonly config: Config;
  readonly logger: Logger;
  readonly client: KafkaClient;
  readonly registry: Registry;
  /** /healthz and /readyz: the service's parts report to it (startWorker / startDecoder `probes`). */
  readonly probes: ServiceProbes;
  readonly metricsServer: MetricsServer | undefined;
  /** --progress-seconds in ms; Infinity for 0 (no progress lines). */
  readonly progressIntervalMs: number;
}

/** Loads the config, selects the tensor backend, connects Kafka, creates topics, serves metrics. */
export async function startServiceCommand(
  service: 'worker' | 'decoder',
  flags: ServiceFlags,
): Promise<StartedService> {
  // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
  const { selectBackend } = await import('../../shared/engine/select-backend.js');
  const logger = createLogger({ name: service });
  const config: Config = flags.config ? await loadConfigFile(flags.config) : defaultConfig();
  const { backend } = await selectBackend({ requested: config.backend, logger });
  const client = createKafkaClient({
    clientId: `${config.app}-${service}`,
    brokers: flags.brokers,
    logger,
    security: config.kafka,
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
  const registry = createMetricsRegistry({ labels: { service } });
  registerBuildInfo(registry, { backend });
  const probes = new ServiceProbes({ conditions: READINESS[service] });
  const metricsServer =
    flags.metricsPort === undefined
      ? undefined
      : await startMetricsServer({
          registry,
          port: flags.metricsPort,
          host: flags.metricsHost,
          probes,
        });
  if (metricsServer) logger.info({ url: metricsServer.url }, 'serving Prometheus metrics');
  // 0 = none, as in produce and run: a service logs at most once per interval.
  const progressIntervalMs = flags.progressSeconds === 0 ? Infinity : flags.progressSeconds * 1000;
  return { config, logger, client, registry, probes, metricsServer, progressIntervalMs };
}

/**
 * Stops the service on the first SIGTERM / SIGINT (a second one leaves at once), then prints its
 * JSON summary once it is done.
 */
export async function runUntilSignal<Summary>({
  service,
  logger,
  stopping,
  metricsServer,
}: {
  service: { stop(): Promise<Summary>; readonly done: Promise<Summary> };
  logger: Logger;
  /** The log line on the first signal: what the service finishes before it leaves. */
  stopping: string;
  metricsServer: MetricsServer | undefined;
}): Promise<void> {
  let signalled = false;
  const onSignal = (signal: string): void => {
    if (signalled) process.exit(EXIT.interrupted); // second signal: leave now
    signalled = true;
    logger.info({ signal }, stopping);
    void service.stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT')).on('SIGTERM', () => onSignal('SIGTERM'));
  const summary = await service.done.finally(() => metricsServer?.close());
  process.stdout.write(JSON.stringify(summary) + '\n');
  exitWhenStopped(logger);
}
