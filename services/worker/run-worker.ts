import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import type { TensorDType } from '../../shared/codec/tensor-codec.js';
import { modelSpecFromConfig, type Config } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { createTokenizer, FeatureNormalizer, LabelRegistry } from '../../shared/events/index.js';
import type { StepLayout } from '../../shared/learner/key-state-mapping.js';
import { StreamLearner } from '../../shared/learner/stream-learner.js';
import type { Logger } from '../../shared/logging/index.js';
import { isClassificationTask } from '../../shared/model/model-spec.js';
import { ConstantPredictor } from '../../shared/model/constant-predictor.js';
import { createRng } from '../../shared/model/random.js';
import type { StepPredictor } from '../../shared/model/step-predictor.js';
import { RecurrentModel } from '../../shared/model/recurrent-model.js';
import { TbpttTrainer } from '../../shared/tbptt/tbptt-trainer.js';
import {
  createKafkaBus,
  createTransactionalProducer,
  KafkaTransportError,
  readPartitionsToEnd,
  topicNames,
  type KafkaBusRecord,
  type KafkaClient,
  type TransactionalProducer,
} from '../../shared/transport/kafka/index.js';
import type { DecodedParams, GradientId } from '../../shared/codec/param-codec.js';
import type { WorkerMetrics } from '../../shared/metrics/worker/index.js';
import { applyParams, followParams } from '../../shared/paramserver-client/index.js';
import { ChangelogFold, type RestoredPartition } from './changelog-records.js';
import { PartitionTask, type BatchReport } from './partition-task.js';
import { PendingGradients } from './pending-gradients.js';

export interface WorkerOptions {
  readonly config: Config;
  readonly client: KafkaClient;
  readonly logger: Logger;
  /** Consumer group of the workers of one app (default `<app>.workers`). */
  readonly groupId?: string;
  /** This worker's id in gradients and logs (default `<host>-<pid>`). */
  readonly workerId?: string;
  /** Train and publish gradients (default true); false: inference and state only. */
  readonly training?: boolean;
  /**
   * Benchmarks: a constant predictor replaces the network (no model cost, no training), so the
   * data plane — decoding, state bookkeeping, changelog, transactions — is measured alone.
   */
  readonly stubModel?: boolean;
  /** Most records per batch (= per transaction). */
  readonly maxBatchSize?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Wire dtype of gradients (default: config paramserver.gradientEncoding). */
  readonly gradientDtype?: TensorDType;
  /** Model id on `<app>.params` (default: the paramserver's default). */
  readonly modelId?: string;
  /**
   * Training: how long to wait at start-up for a published parameter version before training on
   * the seeded initial parameters (version 0, the same the paramserver publishes first unless it
   * was started from a file).
   */
  readonly paramsWaitMs?: number;
  /**
   * Lockstep training: a transaction ends right after a training step, and the worker waits up to
   * this long for the published version that applied that step's gradient before it predicts or
   * trains on the next event (synchronous SGD's lockstep: every event after a window
   * sees the parameters that window produced, as in a single-process learner; a bound on
   * staleness in async mode). 0 (default): never wait.
   */
  readonly paramsLockstepMs?: number;
  /** Called after every committed batch. */
  readonly onBatch?: (report: BatchReport) => void;
  /** Called when partitions were restored from the changelog. */
  readonly onRestore?: (report: RestoreReport) => void;
  readonly now?: () => number;
  readonly progressIntervalMs?: number;
  /** Prometheus families to update (createWorkerMetrics); absent: none. */
  readonly metrics?: WorkerMetrics;
}

export interface RestoreReport {
  readonly partitions: readonly number[];
  readonly keys: number;
  readonly records: number;
  readonly bytes: number;
  /** Changelog records that could not be decoded or that this model cannot use (keys start afresh). */
  readonly corrupt: number;
  readonly durationMs: number;
}

export interface WorkerSummary {
  readonly workerId: string;
  readonly events: number;
  readonly deadLetters: number;
  readonly batches: number;
  /** Records skipped because a committed transaction had already processed them. */
  readonly alreadyProcessed: number;
  readonly restoredKeys: number;
  readonly restoreMs: number;
  readonly trainSteps: number;
  readonly consumerRestarts: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

export interface WorkerHandle {
  readonly workerId: string;
  /** Resolves when the worker has stopped (after stop(), or rejects on a fatal error). */
  readonly done: Promise<WorkerSummary>;
  /** Finishes the batch in flight, leaves the group, disconnects. */
  stop(): Promise<WorkerSummary>;
  /** Partitions owned right now. */
  partitions(): number[];
  /** Live keys across the owned partitions. */
  keys(): number;
}

/**
 * The stream worker (DESIGN.md §4): a member of the workers' consumer group on `<app>.events`.
 * Each owned partition gets a PartitionTask, opened by fencing the partition's transactional
 * producer and restoring the partition's keys from `<app>.state-changelog`; each batch is then
 * one transaction (changelog + predictions + dead letters + gradients + offsets). On revocation a
 * partition's task is dropped (its state is already in the changelog). A Kafka failure drops
 * every task and rejoins the group, which re-reads from the committed offsets.
 */
export async function startWorker(options: WorkerOptions): Promise<WorkerHandle> {
  const { config, client, logger } = options;
  const now = options.now ?? Date.now;
  const topics = topicNames(config.app);
  const groupId = options.groupId ?? `${config.app}.workers`;
  const workerId = options.workerId ?? `${hostname()}-${process.pid}`;
  const stubModel = options.stubModel ?? false;
  const training = (options.training ?? true) && !stubModel;
  const maxBatchSize = options.maxBatchSize ?? 5_000;
  const gradientDtype = options.gradientDtype ?? config.paramserver.gradientEncoding;
  const log = logger.child({ component: 'worker', workerId });

  const spec = modelSpecFromConfig(config);
  if ((spec.task === 'tag' || spec.task === 'classify') && config.task.labels === undefined)
    throw new ConfigError(
      `task.labels is not set for task "${spec.task}": workers cannot discover labels as they appear, because every worker must map a label to the same class id (fix: list the labels in task.labels)`,
    );
  const model = RecurrentModel.create({ spec, seed: config.seed });
  const predictor: StepPredictor = stubModel
    ? new ConstantPredictor({ spec, stateSize: model.stateSize })
    : model;
  const tokens = createTokenizer({
    kind: config.input.tokenizer,
    vocabSize: config.input.vocabSize,
  });
  const labels = new LabelRegistry({
    labels: config.task.labels as Array<string | number> | undefined,
    maxLabels: config.task.maxLabels,
  });
  const gradients = training ? new PendingGradients() : undefined;
  // The paramserver deduplicates by (gradient source, step): a restarted worker keeps its id but
  // counts steps from 1 again, so its gradients carry a per-start incarnation suffix.
  const gradientSource = `${workerId}/${randomBytes(4).toString('hex')}`;
  const trainer = gradients
    ? new TbpttTrainer({
        model,
        sink: gradients,
        rng: createRng(config.seed + 1),
        workerId: gradientSource,
      })
    : undefined;
  const layout: StepLayout = {
    inputKind: spec.inputKind,
    targetKind: isClassificationTask(spec.task) ? 'class' : 'regression',
    featureSize: spec.featureSize,
  };
  const persistNormalizer = spec.inputKind === 'features' && config.input.normalize;

  // Training: parameters come from the paramserver. A new version is applied between batches, so
  // one batch's predictions, states and gradients all use one version.
  let pendingParams: DecodedParams | undefined;
  const versionWaiters: Array<() => void> = [];
  // The parameter follower exists exactly when training, so lockstep needs both.
  const lockstepMs = training ? (options.paramsLockstepMs ?? 0) : 0;
  const lockstep = lockstepMs > 0;
  // Lockstep: steps of our gradients that published versions applied and no wait has settled yet.
  // Steps only grow, so one settled step bound keeps the set to the gradients in flight.
  const appliedOwnSteps = new Set<number>();
  let settledThroughStep = -1;
  /**
   * Lockstep: whether, within `timeoutMs`, every gradient in `sent` (computed on `version`) went
   * into a published version — or versions moved more than the staleness bound past `version`,
   * so the server dropped what it had not applied — or the worker is stopping.
   */
  const ownGradientsApplied = async ({
    sent,
    version,
    timeoutMs,
  }: {
    sent: readonly GradientId[];
    version: number;
    timeoutMs: number;
  }): Promise<boolean> => {
    const deadline = performance.now() + timeoutMs;
    const settled = () =>
      sent.every((g) => appliedOwnSteps.has(g.step)) ||
      (pendingParams?.version ?? model.params.version) > version + config.paramserver.staleness;
    const settle = (applied: boolean): boolean => {
      settledThroughStep = Math.max(settledThroughStep, ...sent.map((g) => g.step));
      for (const step of appliedOwnSteps)
        if (step <= settledThroughStep) appliedOwnSteps.delete(step);
      return applied;
    };
    while (!settled() && !stopping) {
      const left = deadline - performance.now();
      if (left <= 0) return settle(false);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        versionWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return settle(true);
  };
  const follower = training
    ? followParams({
        client,
        app: config.app,
        ...(options.modelId === undefined ? {} : { modelId: options.modelId }),
        onVersion: (decoded) => {
          if (lockstep)
            for (const g of decoded.applied ?? [])
              if (g.workerId === gradientSource && g.step > settledThroughStep)
                appliedOwnSteps.add(g.step);
          if (decoded.version > (pendingParams?.version ?? model.params.version))
            pendingParams = decoded;
          for (const wake of versionWaiters.splice(0)) wake();
        },
      })
    : undefined;
  const applyPendingParams = (): void => {
    if (!pendingParams) return;
    const decoded = pendingParams;
    pendingParams = undefined;
    if (decoded.version <= model.params.version) return;
    applyParams(model.params, decoded);
    log.debug({ version: decoded.version }, 'parameter version applied');
  };
  if (follower) {
    const waitMs = options.paramsWaitMs ?? 30_000;
    try {
      pendingParams = await follower.waitForVersion({ minVersion: 0, timeoutMs: waitMs });
      applyPendingParams();
      log.info({ version: model.params.version }, 'training from the published parameters');
    } catch (error) {
      log.warn(
        { err: error, waitMs },
        'no parameter version published yet: training starts from the seeded initial parameters (version 0); start `rnnstream paramserver` with the same config',
      );
    }
  }

  const bus = createKafkaBus({
    client,
    groupId,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
  });
  const tasks = new Map<number, PartitionTask>();
  const producers = new Map<number, TransactionalProducer>();
  const opening = new Map<number, Promise<PartitionTask>>();
  let assigned = new Set<number>();
  let busyPartition: number | undefined;
  let stopping = false;
  const started = now();
  const totals = {
    events: 0,
    deadLetters: 0,
    batches: 0,
    alreadyProcessed: 0,
    restoredKeys: 0,
    restoreMs: 0,
    consumerRestarts: 0,
  };

  const closePartition = (partition: number): void => {
    tasks.delete(partition);
    opening.delete(partition);
    const producer = producers.get(partition);
    producers.delete(partition);
    producer
      ?.disconnect()
      .catch((error: unknown) =>
        log.warn({ partition, err: error }, 'closing a partition producer failed'),
      );
  };

  const createTask = (partition: number, restored: RestoredPartition): PartitionTask => {
    const normalizer = restored.normalizer
      ? FeatureNormalizer.fromJSON(restored.normalizer)
      : new FeatureNormalizer({
          featureSize: config.input.featureSize,
          enabled: config.input.normalize,
        });
    return new PartitionTask(
      {
        partition,
        topics,
        groupId,
        producer: producers.get(partition)!,
        spec,
        layout,
        tokens,
        labels,
        limits: config.limits,
        normalizer,
        persistNormalizer,
        gradients,
        gradientDtype,
        logger: log,
        now,
        createLearner: ({ onEvict }) =>
          new StreamLearner({
            model: predictor,
            trainer,
            tokens,
            labels,
            normalizer,
            k1: config.tbptt.k1,
            k2: config.tbptt.k2,
            maxKeysPerStep: config.tbptt.maxKeys,
            maxWaitMs: config.tbptt.maxWaitMs,
            ttlMs: config.state.ttlMs,
            maxKeys: config.state.maxKeys,
            now,
            onEvict: (key) => onEvict(key.key),
            onTrainStep: (result) => {
              options.metrics?.trainSteps.inc();
              options.metrics?.trainedTokens.inc(result.tokens);
              if (result.tokens > 0) options.metrics?.trainLoss.set(result.lossSum / result.tokens);
            },
          }),
      },
      restored,
    );
  };

  /** Fences each partition's producer, then restores the partitions from the changelog in one read. */
  const openPartitions = async (
    partitions: readonly number[],
  ): Promise<Map<number, PartitionTask>> => {
    for (const partition of partitions) {
      const producer = createTransactionalProducer({
        client,
        transactionalId: `${groupId}.${topics.events}.${partition}`,
      });
      producers.set(partition, producer);
      await producer.connect();
    }
    const folds = new Map(partitions.map((p) => [p, new ChangelogFold(p)]));
    log.info({ partitions }, 'restoring partitions from the state changelog');
    const read = await readPartitionsToEnd({
      client,
      topic: topics.stateChangelog,
      partitions,
      onRecords: (records: readonly KafkaBusRecord[]) => {
        for (const r of records) folds.get(r.partition)?.add(r.key, r.tombstone ? null : r.value);
      },
      onProgress: ({ records, remainingOffsets }) => {
        options.metrics?.restoreRemainingOffsets.set(remainingOffsets);
        log.info({ partitions, records, remainingOffsets }, 'restore in progress');
      },
    });
    options.metrics?.restoreRemainingOffsets.set(0);
    const opened = new Map<number, PartitionTask>();
    let keys = 0;
    let corrupt = 0;
    for (const [partition, fold] of folds) {
      const restored = fold.finish((key, error) =>
        log.error(
          { partition, key, err: error },
          'state changelog record cannot be decoded; the key starts afresh',
        ),
      );
      const task = createTask(partition, restored);
      keys += restored.keys.length - task.unusableKeys;
      corrupt += restored.corrupt + task.unusableKeys;
      opened.set(partition, task);
    }
    const report: RestoreReport = {
      partitions,
      keys,
      records: read.records,
      bytes: read.bytes,
      corrupt,
      durationMs: read.durationMs,
    };
    totals.restoredKeys += keys;
    totals.restoreMs += read.durationMs;
    options.metrics?.restoreDuration.observe(read.durationMs / 1000);
    options.metrics?.restoredKeys.inc(keys);
    options.metrics?.restoreRecords.inc(read.records);
    log.info(report, 'partitions restored');
    options.onRestore?.(report);
    return opened;
  };

  const onAssignment = (partitions: readonly number[]): void => {
    const next = new Set(partitions);
    for (const partition of [...tasks.keys(), ...opening.keys()])
      if (!next.has(partition) && partition !== busyPartition) closePartition(partition);
    const added = partitions.filter((p) => !tasks.has(p) && !opening.has(p));
    log.info({ partitions, added }, 'partitions assigned');
    assigned = next;
    if (added.length === 0) return;
    const all = openPartitions(added);
    all.catch(() => {}); // awaited (and reported) by the batch that needs it
    for (const partition of added)
      opening.set(
        partition,
        all.then((opened) => opened.get(partition)!),
      );
  };

  const taskFor = async (partition: number): Promise<PartitionTask> => {
    const existing = tasks.get(partition);
    if (existing) return existing;
    let pending = opening.get(partition);
    if (!pending) {
      pending = openPartitions([partition]).then((opened) => opened.get(partition)!);
      opening.set(partition, pending);
    }
    const task = await pending;
    opening.delete(partition);
    tasks.set(partition, task);
    return task;
  };

  const dropAll = (): void => {
    for (const partition of new Set([...tasks.keys(), ...opening.keys(), ...producers.keys()]))
      closePartition(partition);
    gradients?.clear();
    assigned = new Set();
  };

  const recordBatchMetrics = (report: BatchReport, seconds: number): void => {
    const m = options.metrics;
    if (!m) return;
    m.eventsProcessed.inc(report.events);
    m.deadLetters.inc(report.deadLetters);
    m.eventsAlreadyProcessed.inc(report.alreadyProcessed);
    m.transactions.inc();
    m.batchDuration.observe(seconds);
    m.transactionDuration.observe(report.timingsMs.transaction / 1000);
    m.changelogRecords.inc(report.changelogRecords);
    m.evictedKeys.inc(report.tombstones);
    m.liveKeys.set([...tasks.values()].reduce((n, task) => n + task.keys, 0));
    m.ownedPartitions.set(tasks.size);
    m.paramVersion.set(model.params.version);
  };

  let lastProgress = now();
  let eventsAtProgress = 0;
  const progressIntervalMs = options.progressIntervalMs ?? 10_000;
  const reportProgress = (): void => {
    const t = now();
    if (t - lastProgress < progressIntervalMs) return;
    const eventsPerSecond = ((totals.events - eventsAtProgress) * 1000) / (t - lastProgress);
    log.info(
      {
        events: totals.events,
        eventsPerSecond: Math.round(eventsPerSecond),
        partitions: [...tasks.keys()],
        keys: [...tasks.values()].reduce((n, task) => n + task.keys, 0),
        deadLetters: totals.deadLetters,
        trainSteps: trainer?.steps ?? 0,
        paramVersion: model.params.version,
      },
      'worker progress',
    );
    lastProgress = t;
    eventsAtProgress = totals.events;
  };

  const consumeLoop = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      const consumer = bus.consumer({ commit: 'caller' });
      try {
        for await (const records of consumer.batches({
          topic: topics.events,
          maxBatchSize,
          onAssignment,
        })) {
          if (stopping) break;
          const partition = records[0]!.partition;
          if (!assigned.has(partition)) continue; // a batch of a revoked partition: not ours
          const task = await taskFor(partition);
          // In lockstep a transaction ends at a training step, and the rest of the batch waits
          // for the version that step's gradient helps make (as in a single-process learner).
          let rest = records;
          while (rest.length > 0 && !stopping && assigned.has(partition)) {
            applyPendingParams();
            const version = model.params.version;
            busyPartition = partition;
            const started = performance.now();
            const report = await task
              .process(rest, { stopAfterTrainStep: lockstep })
              .catch((error: unknown) => {
                options.metrics?.transactionFailures.inc();
                throw error;
              });
            busyPartition = undefined;
            rest = rest.slice(report.records);
            recordBatchMetrics(report, (performance.now() - started) / 1000);
            failures = 0;
            totals.events += report.events;
            totals.deadLetters += report.deadLetters;
            totals.alreadyProcessed += report.alreadyProcessed;
            totals.batches++;
            options.onBatch?.(report);
            reportProgress();
            log.debug(
              {
                partition,
                records: report.records,
                events: report.events,
                nextOffset: report.nextOffset,
                gradientRecords: report.gradientRecords,
                version,
                left: rest.length,
              },
              'transaction committed',
            );
            const sent = report.gradients;
            if (
              lockstep &&
              sent.length > 0 &&
              !(await ownGradientsApplied({ sent, version, timeoutMs: lockstepMs }))
            )
              log.warn(
                { version, lockstepMs, gradients: sent.length },
                'lockstep: no published version applied our gradient within --params-lockstep-ms; going on with the newest version at hand',
              );
          }
          if (!assigned.has(partition)) closePartition(partition);
        }
      } catch (error) {
        busyPartition = undefined;
        if (stopping) break;
        if (!(error instanceof KafkaTransportError)) throw error;
        failures++;
        totals.consumerRestarts++;
        options.metrics?.consumerRestarts.inc();
        const backoffMs = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        log.warn(
          { err: error, failures, backoffMs },
          'Kafka failure: dropping owned partitions and rejoining the group (state comes back from the changelog)',
        );
        dropAll();
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  };

  const summary = (): WorkerSummary => {
    const seconds = (now() - started) / 1000;
    return {
      workerId,
      ...totals,
      trainSteps: trainer?.steps ?? 0,
      seconds,
      eventsPerSecond: seconds > 0 ? totals.events / seconds : 0,
    };
  };

  const done = consumeLoop()
    .finally(async () => {
      stopping = true;
      await bus.disconnect();
      await follower?.stop().catch(() => {});
      await Promise.all([...producers.values()].map((p) => p.disconnect().catch(() => {})));
      producers.clear();
      tasks.clear();
      model.dispose();
    })
    .then(summary);

  log.info(
    {
      groupId,
      topic: topics.events,
      training,
      stubModel,
      maxBatchSize,
      cell: spec.cell,
      hidden: spec.hidden,
    },
    'worker started',
  );
  return {
    workerId,
    done,
    async stop() {
      stopping = true;
      await bus.disconnect();
      return done;
    },
    partitions: () => [...tasks.keys()].sort((a, b) => a - b),
    keys: () => [...tasks.values()].reduce((n, task) => n + task.keys, 0),
  };
}
