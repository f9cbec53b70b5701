import { randomBytes } from 'node:crypto';

import type { Config } from '../../shared/config/index.js';
import { modelSpecFromConfig } from '../../shared/config/index.js';
import { Float32ArrayPool } from '../../shared/codec/float32-array-pool.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  createMetricsRegistry,
  startMetricsServer,
  type Registry,
} from '../../shared/metrics/index.js';
import { createParamserverMetrics } from '../../shared/metrics/paramserver/index.js';
import {
  GradientIntake,
  ParameterServer,
  parameterServerOptionsFromConfig,
  createCheckpointStore,
  type RoundReport,
  type RoundTrigger,
} from '../../shared/paramserver/index.js';
import {
  checkModelId,
  DEFAULT_MODEL_ID,
  followParams,
} from '../../shared/paramserver-client/index.js';
import {
  closeKafkaAdmin,
  createKafkaBus,
  createKafkaClient,
  deleteGroupsWithPrefix,
  ensureTopics,
  openKafkaAdmin,
  topicEndOffsets,
  type KafkaBusRecord,
} from '../../shared/transport/kafka/index.js';
import { createParamsPublisher } from './params-publisher.js';
import { persistAndPublish } from './persist-version.js';
import { createRecordHandler } from './record-handler.js';
import { createSerial } from './serial.js';
import { resolveStartState } from './start-state.js';
import { mallocTuningHint } from './process-tuning.js';

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

export interface RoundTiming {
  /** Average + clip + optimizer step. */
  readonly updateMs: number;
  /** Checkpoint and publish, from the update's end to the commit. */
  readonly persistMs: number;
  readonly paramBytes: number;
  readonly checkpointBytes: number;
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
 */
export async function runParamserver(options: ParamserverOptions): Promise<ParamserverSummary> {
  const { config, logger, signal } = options;
  const modelId = checkModelId(options.modelId ?? DEFAULT_MODEL_ID);
  const log = logger.child({ component: 'paramserver', app: config.app, modelId });
  const hint = mallocTuningHint();
  if (hint !== undefined) log.info(hint);
  // No tensor backend: the update runs on host arrays (shared/optim/host), and without
  // TensorFlow.js loaded the V8 heap is a third of the size, which makes every GC cheaper.
  const spec = modelSpecFromConfig(config);
  const registry =
    options.registry ?? createMetricsRegistry({ labels: { service: 'paramserver' } });
  const metrics = createParamserverMetrics(registry);
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  const runCleanup = async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => {});
  };

  try {
    const metricsServer =
      options.metricsPort === undefined
        ? undefined
        : await startMetricsServer({
            registry,
            port: options.metricsPort,
            ...(options.metricsHost === undefined ? {} : { host: options.metricsHost }),
          });
    if (metricsServer) cleanup.push(() => metricsServer.close());

    const client = createKafkaClient({
      clientId: `${config.app}-paramserver-${modelId}`,
      brokers: options.brokers,
      logger,
    });
    const admin = await openKafkaAdmin({ client });
    cleanup.push(() => closeKafkaAdmin(admin));
    const { names: topics } = await ensureTopics({
      admin,
      app: config.app,
      partitions: options.partitions ?? 6,
      replicationFactor: options.replicationFactor ?? 1,
      brokers: client.brokers,
      logger: log,
    });

    const publisher = createParamsPublisher({ client, app: config.app, topics, modelId, logger });
    cleanup.push(() => publisher.disconnect());
    await publisher.fence(); // from here on an older instance can no longer publish
    const checkpoints =
      options.checkpointDir === undefined
        ? undefined
        : createCheckpointStore({
            directory: options.checkpointDir,
            modelId,
            onInvalidSlot: ({ path, reason }) =>
              log.warn(
                { path, reason },
                'checkpoint slot passed over (not a complete checkpoint: see reason); resuming from the newest complete slot',
              ),
          });
    const [published, gradientEnds, checkpoint] = await Promise.all([
      publisher.published(admin),
      topicEndOffsets({ admin, topic: topics.gradients, brokers: client.brokers }),
      checkpoints?.read(),
    ]);
    const start = await resolveStartState({
      spec,
      seed: config.seed,
      modelId,
      checkpoint,
      published,
      gradientEnds,
      initPath: options.initPath,
      logger: log,
      readPublishedParams: async (version) => {
        const follower = followParams({ client, app: config.app, modelId });
        try {
          const params = await follower.waitForVersion({ minVersion: version, timeoutMs: 60_000 });
          if (params.version !== version)
            throw new Error(`expected published version ${version}, found ${params.version}`);
          return params;
        } finally {
          await follower.stop();
        }
      },
    });

    const server = ParameterServer.create({
      options: parameterServerOptionsFromConfig(config),
      state: start.state,
    });
    cleanup.push(() => server.dispose());
    if (start.publish || (checkpoints !== undefined && start.origin !== 'checkpoint')) {
      await persistAndPublish({
        state: server.stateView(),
        gradientOffsets: start.gradientOffsets,
        modelId,
        spec,
        checkpoints,
        publisher,
        publish: start.publish,
      });
    }
    metrics.paramVersion.set(server.version);
    log.info(
      {
        origin: start.origin,
        version: server.version,
        // true: the checkpoint was ahead of the topic (a crash before the commit) and went out now.
        publishedAtStart: start.publish,
        gradientOffsets: start.gradientOffsets,
        parameters: server.parameterCount,
        mode: config.paramserver.mode,
        checkpointDir: options.checkpointDir ?? null,
        metrics: metricsServer?.url ?? null,
      },
      `paramserver ready at version ${server.version} (${start.origin})`,
    );

    // A consumer group of its own per start, positioned at the resume offsets before it joins:
    // no wait for a killed predecessor's membership to expire, no offsets committed by the reader.
    const readerPrefix = `${config.app}.paramserver.${modelId}.reader.`;
    const readerGroup = `${readerPrefix}${Date.now()}-${randomBytes(3).toString('hex')}`;
    await publisher.presetGroupOffsets({
      admin,
      groupId: readerGroup,
      offsets: start.gradientOffsets,
    });
    // Gradients are model-sized sets of 900 KB chunks: fetch several per partition and round trip.
    const bus = createKafkaBus({
      client,
      groupId: readerGroup,
      maxWaitTimeMs: 100,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
    });
    cleanup.push(() => bus.disconnect());
    // Earlier starts' reader groups (their offsets are never used again).
    deleteGroupsWithPrefix({ admin, prefix: readerPrefix, keep: readerGroup }).then(
      (deleted) => deleted.length > 0 && log.debug({ deleted }, 'old reader groups deleted'),
      (error: unknown) => log.debug({ err: error }, 'old reader groups not deleted'),
    );

    let rounds = 0;
    let fatal: { error: unknown } | undefined;
    const serial = createSerial();
    const intake = new GradientIntake({
      isSeen: (workerId, step) => server.hasSeen(workerId, step),
      startOffsets: start.gradientOffsets,
      // Every worker of a sync round sends at once: room for many incomplete gradients.
      assembler: { maxPendingBytes: 1024 ** 3 },
      // A round's gradients are reassembled into the arrays the previous round released.
      arrays: new Float32ArrayPool({ maxRetainedBytes: 512 * 1024 ** 2 }),
      onIncomplete: (dropped) => {
        metrics.gradientSetsIncomplete.inc({ reason: dropped.reason });
        log.warn({ err: dropped.error }, 'incomplete gradient dropped');
      },
    });

    const closeRound = async (trigger: RoundTrigger) => {
      const started = performance.now();
      const report = server.applyRound(trigger);
      const updated = performance.now();
      const { paramBytes, checkpointBytes } = await persistAndPublish({
        state: server.stateView(),
        applied: report.applied,
        gradientOffsets: intake.resumeOffsets(server.pendingPositions()),
        modelId,
        spec,
        checkpoints,
        publisher,
      });
      const done = performance.now();
      const timing = {
        updateMs: updated - started,
        persistMs: done - updated,
        paramBytes,
        checkpointBytes,
      };
      rounds++;
      metrics.roundDuration.observe((done - started) / 1000);
      metrics.rounds.inc({ trigger });
      metrics.paramVersion.set(report.version);
      metrics.preclipGlobalNorm.observe(report.preClipNorm);
      metrics.lastPreclipGlobalNorm.set(report.preClipNorm);
      metrics.clipRatio.set(report.clipScale);
      metrics.paramBytesPublished.inc(paramBytes);
      log.debug({ ...report, ...timing }, 'round applied');
      if (rounds % config.paramserver.progressEveryRounds === 0) {
        log.info(
          {
            version: report.version,
            rounds,
            gradients: report.gradients,
            workers: report.workers.length,
            meanLoss: report.lossSum / report.tokens,
            preClipNorm: report.preClipNorm,
            clipScale: report.clipScale,
            learningRate: report.learningRate,
            roundMs: Math.round(done - started),
            updateMs: Math.round(timing.updateMs),
            persistMs: Math.round(timing.persistMs),
          },
          `version ${report.version}: ${rounds} rounds since start`,
        );
      }
      options.onRound?.(report, timing);
    };

    const handleRecord = createRecordHandler({ server, intake, metrics, log });
    const handleBatch = async (batch: ReadonlyArray<KafkaBusRecord>) => {
      for (const record of batch) {
        if (handleRecord(record)) {
          const trigger = server.dueRound({ nowMs: Date.now(), arrivalsDone: false });
          if (trigger) await closeRound(trigger);
        }
      }
      const trigger = server.dueRound({ nowMs: Date.now(), arrivalsDone: true });
      if (trigger) await closeRound(trigger);
      metrics.liveWorkers.set(server.liveWorkers(Date.now()).length);
    };

    const fail = (error: unknown) => {
      fatal ??= { error };
      void bus.disconnect();
    };
    const tickMs = Math.max(10, Math.min(250, config.paramserver.roundDeadlineMs / 4));
    const timer = setInterval(() => {
      serial(async () => {
        intake.expire();
        const trigger = server.dueRound({ nowMs: Date.now(), arrivalsDone: true });
        if (trigger) await closeRound(trigger);
      }).catch(fail);
    }, tickMs);
    cleanup.push(() => clearInterval(timer));
    const stop = () => {
      log.info('stopping: finishing the round in progress, then disconnecting');
      void serial(() => bus.disconnect());
    };
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    cleanup.push(() => signal?.removeEventListener('abort', stop));

    options.onReady?.({ version: server.version, metricsUrl: metricsServer?.url });
    const batches = bus.consumer({ commit: 'caller' }).batches({
      topic: topics.gradients,
      maxBatchSize: 256,
    });
    try {
      for await (const batch of batches) await serial(() => handleBatch(batch));
    } catch (error) {
      fail(error);
    }
    clearInterval(timer);
    await serial(() => {}); // a timer round already started finishes
    if (fatal) throw fatal.error;
    log.info({ version: server.version, rounds }, 'paramserver stopped');
    return { version: server.version, rounds, origin: start.origin };
  } finally {
    await runCleanup();
  }
}
