import type { Config } from '../../shared/config/index.js';
import { paramsSpecFromConfig } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  createMetricsRegistry,
  registerBuildInfo,
  ServiceProbes,
  startMetricsServer,
  type Registry,
} from '../../shared/metrics/index.js';
import { createParamserverMetrics } from '../../shared/metrics/paramserver-metrics.js';
import type { RoundReport } from '../../shared/paramserver/index.js';
import { checkModelId, DEFAULT_MODEL_ID } from '../../shared/paramserver-client/index.js';
import {
  closeKafkaAdmin,
  createKafkaClient,
  ensureTopics,
  KafkaSecurityError,
  KafkaTransportError,
  openKafkaAdmin,
  TopicLayoutError,
} from '../../shared/transport/kafka/index.js';
import { openGradientReader } from './gradient-reader.js';
import { mallocTuningHint } from './process-tuning.js';
import { restoreServer } from './restore-server.js';
import { createRoundCloser, type RoundTiming } from './round-closer.js';
import { runRoundLoop } from './round-loop.js';
import type { ServiceContext } from './service-context.js';

export type { RoundTiming } from './round-closer.js';

export interface ParamserverOptions {
  readonly config: Config;
  readonly brokers: string | readonly string[];
  readonly logger: Logger;
  /** Where the checkpoint lives (a persistent volume); without it a restart is not bit-exact. */
  readonly checkpointDir?: string | undefined;
  /** Initial parameters (a parameter file) for the very first start; else the seeded initialiser. */
  readonly initPath?: string | undefined;
  /** Serve /metrics and /healthz on this port (0: a free one). */
  readonly metricsPort?: number | undefined;
  readonly metricsHost?: string | undefined;
  readonly modelId?: string | undefined;
  /** Partitions and replication of topics this service has to create (existing ones are kept). */
  readonly partitions?: number | undefined;
  readonly replicationFactor?: number | undefined;
  /** Stops the service: the round in progress is finished and committed, then it disconnects. */
  readonly signal?: AbortSignal | undefined;
  /** Told once the start version is published and gradients are read (tests, benchmarks). */
  readonly onReady?: (info: { version: number; metricsUrl: string | undefined }) => void;
  readonly onRound?: (report: RoundReport, timing: RoundTiming) => void;
  readonly registry?: Registry | undefined;
}

export interface ParamserverSummary {
  readonly version: number;
  readonly rounds: number;
  readonly origin: 'fresh' | 'checkpoint' | 'published';
}

/**
 * The parameter service over Kafka: reads `<app>.gradients` (read_committed) from the resume
 * offsets of its start state, reassembles and checks gradients, closes rounds by the configured
 * policy, and makes each new version durable and visible (checkpoint, then one transaction with
 * the version's chunks and the consumed offsets). Resolves when `signal` aborts, after the round
 * in progress; rejects on a Kafka or disk failure it cannot continue from (a restart resumes
 * exactly: see persist-version.ts and start-state.ts).
 *
 * A composition of four parts: restoreServer (start-up), openGradientReader (gradient intake),
 * createRoundCloser (update and publication) and runRoundLoop (when rounds close).
 */
export async function runParamserver(options: ParamserverOptions): Promise<ParamserverSummary> {
  const { config, logger } = options;
  const modelId = checkModelId(options.modelId ?? DEFAULT_MODEL_ID);
  const log = logger.child({ component: 'paramserver', app: config.app, modelId });
  const hint = mallocTuningHint();
  if (hint !== undefined) log.info(hint);
  const registry =
    options.registry ?? createMetricsRegistry({ labels: { service: 'paramserver' } });
  const metrics = createParamserverMetrics(registry);
  registerBuildInfo(registry, { backend: 'none' }); // the update runs on host arrays
  const probes = new ServiceProbes({
    conditions: {
      restore:
        'restoring the checkpoint (--checkpoint-dir) or the newest published version and publishing it',
    },
  });
  const releases: Array<() => unknown> = [];
  const defer = (release: () => unknown) => void releases.push(release);
  try {
    const metricsServer =
      options.metricsPort === undefined
        ? undefined
        : await startMetricsServer({
            registry,
            port: options.metricsPort,
            ...(options.metricsHost === undefined ? {} : { host: options.metricsHost }),
            probes,
          });
    if (metricsServer) defer(() => metricsServer.close());
    const client = createKafkaClient({
      clientId: `${config.app}-paramserver-${modelId}`,
      brokers: options.brokers,
      logger,
      security: config.kafka,
    });
    const admin = await openKafkaAdmin({ client });
    defer(() => closeKafkaAdmin(admin));
    const { names: topics } = await ensureTopics({
      admin,
      app: config.app,
      partitions: options.partitions ?? 6,
      replicationFactor: options.replicationFactor ?? 1,
      brokers: client.brokers,
      logger: log,
    });
    const context: ServiceContext = {
      config,
      modelId,
      // No tensor backend: the update runs on host arrays (shared/optim/host), and without
      // TensorFlow.js loaded the V8 heap is a third of the size, which makes every GC cheaper.
      spec: paramsSpecFromConfig(config),
      client,
      admin,
      topics,
      metrics,
      logger,
      log,
      defer,
    };

    const restored = await restoreServer(context, {
      checkpointDir: options.checkpointDir,
      initPath: options.initPath,
      metricsUrl: metricsServer?.url,
    });
    const { server, start } = restored;
    const reader = await openGradientReader(context, restored);
    const closer = createRoundCloser(context, restored, reader, options.onRound);
    await runRoundLoop({
      server,
      reader,
      closer,
      tickMs: Math.max(10, Math.min(250, config.paramserver.roundDeadlineMs / 4)),
      signal: options.signal,
      metrics,
      log,
      onStarted: () => {
        probes.met('restore');
        options.onReady?.({ version: server.version, metricsUrl: metricsServer?.url });
      },
    });
    log.info({ version: server.version, rounds: closer.rounds }, 'paramserver stopped');
    return { version: server.version, rounds: closer.rounds, origin: start.origin };
  } finally {
    for (const release of releases.reverse()) await Promise.resolve(release()).catch(() => {});
  }
}

/** Kafka failures a new start cannot cure: another instance took over, or we may not do this. */
function cannotRestart(error: unknown): boolean {
  if (
    !(error instanceof KafkaTransportError) ||
    error instanceof TopicLayoutError ||
    error instanceof KafkaSecurityError
  )
    return true;
  // Refused logins and ACLs are KafkaSecurityErrors already (wrapKafkaError): left is fencing.
  return /FENCED|INVALID_PRODUCER_EPOCH/.test(error.kafkaErrorType ?? '');
}

/**
 * runParamserver, started again after a Kafka failure (a broker outage, a lost coordinator) with
 * a growing back-off (1 s .. 5 s), until `signal` aborts: each start restores exactly as a
 * process restart does (checkpoint, else the newest published version), so riding out an outage
 * in-process is the same as being restarted by a supervisor, only faster and without one.
 * Failures a restart cannot cure (fenced by another paramserver, not authorised, topics laid
 * out wrong, anything that is not Kafka) end it as before.
 */
export async function runParamserverUntilStopped(
  options: ParamserverOptions,
): Promise<ParamserverSummary> {
  let failures = 0;
  for (;;) {
    const startedMs = Date.now();
    try {
      return await runParamserver(options);
    } catch (error) {
      if (options.signal?.aborted || cannotRestart(error)) throw error;
      failures = Date.now() - startedMs > 60_000 ? 1 : failures + 1;
      const backoffMs = Math.min(5_000, 1_000 * 2 ** (failures - 1));
      options.logger.warn(
        { err: error, failures, backoffMs },
        'Kafka failure: starting the paramserver again after a back-off (it restores exactly as a restarted process does)',
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoffMs);
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (options.signal?.aborted) throw error;
    }
  }
}
