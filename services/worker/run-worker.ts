import { randomBytes } from 'node:crypto';
import { wordsVocabulary } from '../../shared/vocabulary/words-tokenizer.js';
import { hostname } from 'node:os';

import type { TensorDType } from '../../shared/codec/tensor-codec.js';
import { modelSpecFromConfig, type Config } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { createLearner } from '../../shared/learner/create-learner.js';
import { createSeq2seqLearner } from '../../shared/learner/seq2seq/create-seq2seq-learner.js';
import type { RestoredPartition } from '../../shared/learner/state-changelog.js';
import type { ParameterSet } from '../../shared/model/parameter-set.js';
import type { Vocabulary } from '../../shared/vocabulary/vocabulary.js';
import type { Logger } from '../../shared/logging/index.js';
import type { ServiceProbes } from '../../shared/metrics/probes.js';
import type { WorkerMetrics } from '../../shared/metrics/worker-metrics.js';
import {
  createKafkaBus,
  topicNames,
  type KafkaClient,
  type TopicNames,
  type TransactionalProducer,
} from '../../shared/transport/kafka/index.js';
import { windowScheduleFor } from '../../shared/tbptt/window-schedule.js';
import { checkKeyStateRecordSize } from './changelog-records.js';
import { ConsumeLoop } from './consume-loop.js';
import { LockstepGate } from './lockstep-gate.js';
import type { BatchReport, OwnedPartition } from './owned-partition.js';
import { PairPartitionTask } from './pair-partition-task.js';
import { PartitionLifecycle, type RestoreReport } from './partition-lifecycle.js';
import { PartitionTask } from './partition-task.js';
import { PendingGradients } from './pending-gradients.js';
import { PublishedParams } from '../../shared/paramserver-client/index.js';
import { WorkerMetricsReporter, type WorkerSummary } from './worker-metrics-reporter.js';

export type { RestoreReport, WorkerSummary };

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
  /** Readiness conditions `parameters`, `group`, `restore` and health of the `kafka` part. */
  readonly probes?: ServiceProbes;
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
 * The stream worker (docs/design.md §2, §5): a member of the workers' consumer group on `<app>.events`,
 * composed of one unit per job — PublishedParams (the parameters a training worker follows),
 * LockstepGate (the wait for our gradients' version), PartitionLifecycle (opening, restoring and
 * closing owned partitions), ConsumeLoop (batches to partition tasks, back-off on Kafka failures)
 * and WorkerMetricsReporter (metrics, progress, summary). Each batch is one PartitionTask
 * transaction (changelog + predictions + dead letters + gradients + offsets).
 */
export async function startWorker(options: WorkerOptions): Promise<WorkerHandle> {
  const { config, client } = options;
  const now = options.now ?? Date.now;
  const topics = topicNames(config.app);
  const groupId = options.groupId ?? `${config.app}.workers`;
  const workerId = options.workerId ?? `${hostname()}-${process.pid}`;
  const stubModel = options.stubModel ?? false;
  const training = (options.training ?? true) && !stubModel;
  const maxBatchSize = options.maxBatchSize ?? 5_000;
  const logger = options.logger.child({ component: 'worker', workerId });
  const stopping = new AbortController();
  const reporter = new WorkerMetricsReporter({
    workerId,
    metrics: options.metrics,
    logger,
    now,
    progressIntervalMs: options.progressIntervalMs ?? 10_000,
    onBatch: options.onBatch,
    onRestore: options.onRestore,
    probes: options.probes,
  });
  const gradients = training ? new PendingGradients() : undefined;
  // The paramserver deduplicates by (gradient source, step): a restarted worker keeps its id but
  // counts steps from 1 again, so its gradients carry a per-start incarnation suffix.
  const gradientSource = `${workerId}/${randomBytes(4).toString('hex')}`;
  const learned = (config.task.type === 'seq2seq' ? pairModel : streamModel)({
    config,
    gradients,
    gradientSource,
    stubModel,
    reporter,
    logger,
    now,
  });
  const { model } = learned;
  const lockstepMs = training ? (options.paramsLockstepMs ?? 0) : 0;
  const gate =
    lockstepMs > 0
      ? new LockstepGate({
          gradientSource,
          staleness: config.paramserver.staleness,
          timeoutMs: lockstepMs,
          signal: stopping.signal,
        })
      : undefined;
  const params = training
    ? await PublishedParams.follow({
        client,
        app: config.app,
        modelId: options.modelId,
        model,
        logger,
        waitMs: options.paramsWaitMs ?? 30_000,
        onVersion: (decoded) => gate?.observe(decoded),
        vocabulary: learned.vocabulary,
      })
    : undefined;
  options.probes?.met('parameters'); // loaded, or (not training) not needed
  const partitions = new PartitionLifecycle({
    client,
    groupId,
    topics,
    openPartition: (parts) =>
      learned.openPartition({
        ...parts,
        topics,
        groupId,
        gradientDtype: options.gradientDtype ?? config.paramserver.gradientEncoding,
      }),
    reporter,
    logger,
  });
  const bus = createKafkaBus({
    client,
    groupId,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
  });
  const loop = new ConsumeLoop({
    bus,
    topic: topics.events,
    maxBatchSize,
    partitions,
    model,
    params,
    gate,
    gradients,
    reporter,
    logger,
    signal: stopping.signal,
  });

  reporter.start({
    partitions: () => partitions.partitions(),
    keys: () => partitions.keys(),
    stateBytes: () => partitions.stateBytes(),
    paramVersion: () => model.params.version,
    trainSteps: learned.trainSteps,
  });
  const done = loop
    .run()
    .finally(async () => {
      stopping.abort();
      await bus.disconnect();
      await params?.stop();
      await partitions.shutdown();
      learned.dispose();
    })
    .then(() => reporter.summary());
  logger.info(
    {
      groupId,
      topic: topics.events,
      training,
      stubModel,
      maxBatchSize,
      task: config.task.type,
      cell: config.model.cell,
      hidden: config.model.hidden,
    },
    'worker started',
  );
  return {
    workerId,
    done,
    async stop() {
      stopping.abort();
      await bus.disconnect();
      return done;
    },
    partitions: () => partitions.partitions(),
    keys: () => partitions.keys(),
  };
}

/** What the worker learns with, whatever the task: its model and how a partition opens on it. */
interface WorkerModel {
  /** The parameters PublishedParams swaps in and the consume loop reads the version of. */
  readonly model: { readonly params: ParameterSet };
  /** input.tokenizer "words": the vocabulary the published versions carry. */
  readonly vocabulary: Vocabulary | undefined;
  openPartition(parts: {
    partition: number;
    producer: TransactionalProducer;
    restored: RestoredPartition;
    topics: TopicNames;
    groupId: string;
    gradientDtype: TensorDType;
  }): OwnedPartition;
  trainSteps(): number;
  dispose(): void;
}

interface WorkerModelOptions {
  readonly config: Config;
  readonly gradients: PendingGradients | undefined;
  /** The id our gradients carry (worker id and a per-start suffix). */
  readonly gradientSource: string;
  readonly stubModel: boolean;
  readonly reporter: WorkerMetricsReporter;
  readonly logger: Logger;
  readonly now: () => number;
}

/** lm, tag, classify, forecast: one key store per partition on the shared recurrent model. */
function streamModel({
  config,
  gradients,
  gradientSource,
  stubModel,
  reporter,
  logger,
  now,
}: WorkerModelOptions): WorkerModel {
  const spec = modelSpecFromConfig(config);
  if ((spec.task === 'tag' || spec.task === 'classify') && config.task.labels === undefined)
    throw new ConfigError(
      `task.labels is not set for task "${spec.task}": workers cannot discover labels as they appear, because every worker must map a label to the same class id (fix: list the labels in task.labels)`,
    );
  checkKeyStateRecordSize({
    config,
    spec,
    schedule: windowScheduleFor(spec.task, {
      ...config.tbptt,
      maxSequenceSteps: config.task.maxSequenceSteps,
      bidirectional: spec.bidirectional,
    }),
  });
  const learner = createLearner({
    config,
    gradientSink: gradients && (() => gradients),
    workerId: gradientSource,
    stubModel,
    now,
    onTrainStep: (result) => reporter.trainStepped(result),
  });
  return {
    model: learner.model,
    vocabulary: learner.tokenizer.kind === 'words' ? wordsVocabulary(learner.tokenizer) : undefined,
    openPartition: ({ restored, ...parts }) =>
      new PartitionTask(
        {
          ...parts,
          learner,
          limits: config.limits,
          persistNormalizer: spec.inputKind === 'features' && config.input.normalize,
          gradients,
          logger,
          now,
        },
        restored,
      ),
    trainSteps: () => learner.trainer?.steps ?? 0,
    dispose: () => learner.dispose(),
  };
}

/** seq2seq: pairs carry no state, so a partition is its progress and the shared learner. */
function pairModel({
  config,
  gradients,
  gradientSource,
  stubModel,
  reporter,
  logger,
  now,
}: WorkerModelOptions): WorkerModel {
  if (stubModel)
    throw new ConfigError(
      'the constant stand-in model (a data-plane benchmark) predicts per-step events; task.type "seq2seq" has none (fix: benchmark the data plane with another task type)',
    );
  const { learner, encoding, dispose } = createSeq2seqLearner({
    config,
    gradientSink: gradients && (() => gradients),
    workerId: gradientSource,
    onTrainStep: (step) => reporter.trainStepped(step),
  });
  return {
    model: learner.model,
    vocabulary: undefined,
    openPartition: ({ restored, ...parts }) =>
      new PairPartitionTask(
        { ...parts, learner, encoding, limits: config.limits, gradients, logger, now },
        restored,
      ),
    trainSteps: () => learner.steps,
    dispose,
  };
}
