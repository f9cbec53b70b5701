import { hostname } from 'node:os';

import type { Config } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { DecoderMetrics } from '../../shared/metrics/decoder-metrics.js';
import type { ServiceProbes } from '../../shared/metrics/probes.js';
import { PublishedParams } from '../../shared/paramserver-client/index.js';
import {
  createKafkaBus,
  readGroupOffsets,
  topicNames,
  withKafkaAdmin,
  type KafkaClient,
} from '../../shared/transport/kafka/index.js';
import { BatchExecutor, type ExecutorTotals } from './batch-executor.js';
import { RequestIntake, type DecodeItem } from './request-intake.js';
import { RequestQueue } from './request-queue.js';
import { ResultOutbox } from './result-outbox.js';
import { createServedModel } from './served-model.js';

export interface DecoderOptions {
  readonly config: Config;
  readonly client: KafkaClient;
  readonly logger: Logger;
  /** Consumer group of the decoders of one app (default `<app>.decoders`). */
  readonly groupId?: string;
  /** This decoder's id in logs (default `<host>-<pid>`). */
  readonly decoderId?: string;
  /** Model id on `<app>.params` (default: the paramserver's default). */
  readonly modelId?: string;
  /** How long to wait at start-up for a published parameter version (default 30 s). */
  readonly paramsWaitMs?: number;
  /** Overrides of config `decoder.maxBatchSize` / `decoder.maxWaitMs`. */
  readonly maxBatchSize?: number;
  readonly maxWaitMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly metrics?: DecoderMetrics;
  /** Readiness conditions `parameters`, `group`, `restore` and health of the `kafka` part. */
  readonly probes?: ServiceProbes;
  readonly progressIntervalMs?: number;
  readonly now?: () => number;
}

export interface DecoderSummary extends ExecutorTotals {
  readonly decoderId: string;
  readonly paramVersion: number;
  readonly seconds: number;
}

export interface DecoderHandle {
  readonly decoderId: string;
  /** Resolves when the decoder has stopped (after stop(), or rejects on a fatal error). */
  readonly done: Promise<DecoderSummary>;
  /** Stops reading, answers and commits what was read, leaves the group, disconnects. */
  stop(): Promise<DecoderSummary>;
  /** Partitions of the requests topic owned right now. */
  partitions(): number[];
}

/**
 * The decoder service (docs/design.md "Decoder"): a member of the decoders' group on
 * `<app>.decode-requests`, composed of one unit per job — PublishedParams (the parameter versions,
 * hot-swapped between batches), the served model (served-model.ts: a stream model with its
 * StateView — a read-only, read_committed view of the changelog partitions of the owned request
 * partitions — and DecodeEngine, or a seq2seq model with transduceEngine and no per-key state),
 * RequestIntake (records to queue items, with back-pressure), RequestQueue (dynamic batching),
 * BatchExecutor (computing a batch) and ResultOutbox (one transaction per partition: results +
 * dead letters + offsets).
 */
export async function startDecoder(options: DecoderOptions): Promise<DecoderHandle> {
  const { config, client } = options;
  const now = options.now ?? Date.now;
  const started = performance.now();
  const topics = topicNames(config.app);
  const groupId = options.groupId ?? `${config.app}.decoders`;
  const decoderId = options.decoderId ?? `${hostname()}-${process.pid}`;
  const logger = options.logger.child({ component: 'decoder', decoderId });
  const metrics = options.metrics;
  const bounds = {
    ...config.decoder,
    maxBatchSize: options.maxBatchSize ?? config.decoder.maxBatchSize,
    maxWaitMs: options.maxWaitMs ?? config.decoder.maxWaitMs,
  };
  const bus = createKafkaBus({
    client,
    groupId,
    maxWaitTimeMs: 50,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
  });
  const partials = bus.producer();
  const served = createServedModel({
    config,
    client,
    changelogTopic: topics.stateChangelog,
    logger,
    now,
    sendPartials: (results) => {
      metrics?.streamedPartials.inc(results.length);
      return partials.send({
        topic: topics.decodeResults,
        messages: results.map((r) => ({ key: r.requestId, value: r.bytes })),
      });
    },
  });
  const { model, stateView } = served;
  const params = await PublishedParams.follow({
    client,
    app: config.app,
    modelId: options.modelId,
    model,
    logger,
    waitMs: options.paramsWaitMs ?? 30_000,
    vocabulary: served.vocabulary,
  });
  const probes = options.probes;
  probes?.met('parameters');

  const stopping = new AbortController();
  const outbox = new ResultOutbox({ client, groupId, topics, logger });
  const queue = new RequestQueue<DecodeItem>({
    capacity: Math.max(bounds.maxQueuedRequests, bounds.maxBatchSize),
    maxBatchSize: bounds.maxBatchSize,
    maxWaitMs: bounds.maxWaitMs,
  });
  const owned = new Map<number, Promise<void>>();
  /** Partitions being opened (fence + state view restore, if any): /readyz waits for none. */
  const opening = new Set<Promise<void>>();
  /**
   * Fences the partition's previous owner, then reads the group's offset: whatever the previous
   * owner committed before the fence is answered, so the intake skips below it (the consumer may
   * have fetched its position before that commit).
   */
  const openAnswers = async (partition: number): Promise<void> => {
    await outbox.open([partition]);
    const committed = await withKafkaAdmin({ client }, (admin) =>
      readGroupOffsets({ admin, groupId, topic: topics.decodeRequests, brokers: client.brokers }),
    );
    const offset = committed.find((c) => c.partition === partition)?.offset ?? -1;
    if (offset >= 0) intake.skipBelow(partition, offset);
  };
  const intake = new RequestIntake({
    bus,
    topic: topics.decodeRequests,
    queue,
    workOf: served.workOf,
    bounds,
    limits: config.limits,
    onAssignment: (partitions) => {
      const next = new Set(partitions);
      const revoked = [...owned.keys()].filter((p) => !next.has(p));
      const added = partitions.filter((p) => !owned.has(p));
      for (const p of revoked) {
        owned.delete(p);
        metrics?.consumerLag.remove({ partition: String(p) });
      }
      queue.dropPartitions(new Set(revoked));
      stateView?.release(revoked);
      void outbox.close(revoked);
      for (const p of added) {
        const ready = Promise.all([openAnswers(p), stateView?.assign([p])]).then(() => {});
        ready.catch(() => {}); // awaited (and reported) by the first batch of the partition
        owned.set(p, ready);
        opening.add(ready);
        void ready
          .catch(() => {})
          .finally(() => {
            opening.delete(ready);
            if (opening.size === 0) probes?.met('restore');
          });
      }
      probes?.met('group');
      // The coordinator answered the join: a failure is over even if no request comes.
      probes?.recovered('kafka');
      if (opening.size > 0)
        probes?.unmet('restore', `reading the state of partitions ${added.join(', ')}`);
      metrics?.ownedPartitions.set(next.size);
      logger.info({ partitions, added, revoked }, 'partitions assigned');
    },
    whenReady: (partition) => owned.get(partition) ?? Promise.resolve(),
    onRestart: (error) => {
      queue.dropPartitions(new Set(owned.keys()));
      metrics?.consumerRestarts.inc();
      probes?.failed('kafka', error.message);
      probes?.unmet('group', 'rejoining the consumer group after a Kafka failure');
    },
    onRead: () => probes?.recovered('kafka'),
    onLag: (partition, offsets) =>
      metrics?.consumerLag.set({ partition: String(partition) }, offsets),
    logger,
    now,
    signal: stopping.signal,
  });
  const executor = new BatchExecutor({
    queue,
    engine: served.engine,
    outbox,
    stateView,
    applyNewestParams: () => {
      params.applyNewest();
      return model.params.version;
    },
    spec: served.task,
    limits: config.limits,
    stateWaitMs: bounds.stateWaitMs,
    onCommitFailed: () => intake.restart(),
    metrics,
    logger,
    now,
  });
  const lagTimer = setInterval(() => {
    metrics?.queueDepth.set(queue.size);
    if (metrics && stateView)
      stateView
        .lagOffsets()
        .then((lags) => metrics.stateViewLag.set([...lags.values()].reduce((a, b) => a + b, 0)))
        .catch(() => {}); // a metric, not worth a log line per second while Kafka is away
  }, 1_000);
  lagTimer.unref();
  const progressMs = options.progressIntervalMs ?? 10_000;
  const progress = Number.isFinite(progressMs)
    ? setInterval(
        () =>
          logger.info(
            { ...executor.totals, queued: queue.size, version: model.params.version },
            'progress',
          ),
        progressMs,
      )
    : undefined;
  progress?.unref();

  // Stopping: the intake stops reading (staying in the group), the executor answers and commits
  // everything read, and only then does the consumer leave the group.
  const intakeDone = intake.run().finally(() => queue.close());
  intakeDone.catch(() => {}); // awaited below
  const done = executor
    .run()
    .catch((error: unknown) => {
      stopping.abort();
      queue.close();
      throw error;
    })
    .finally(async () => {
      clearInterval(lagTimer);
      clearInterval(progress);
      await bus.disconnect();
      await outbox.disconnect();
      await stateView?.stop();
      await params.stop();
      served.dispose();
    })
    .then(async (): Promise<DecoderSummary> => {
      await intakeDone;
      return {
        decoderId,
        ...executor.totals,
        paramVersion: model.params.version,
        seconds: (performance.now() - started) / 1000,
      };
    });
  logger.info(
    {
      groupId,
      topic: topics.decodeRequests,
      task: served.task.task,
      version: model.params.version,
      ...bounds,
    },
    'decoder started',
  );
  return {
    decoderId,
    done,
    async stop() {
      stopping.abort();
      queue.close();
      return done;
    },
    partitions: () => [...owned.keys()].sort((a, b) => a - b),
  };
}
