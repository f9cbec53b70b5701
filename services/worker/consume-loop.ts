import type { GradientId } from '../../shared/codec/param-codec.js';
import type { Logger } from '../../shared/logging/index.js';
import type { ParameterSet } from '../../shared/model/parameter-set.js';
import {
  KafkaSecurityError,
  KafkaTransportError,
  type KafkaBus,
  type KafkaBusRecord,
} from '../../shared/transport/kafka/index.js';
import type { LockstepGate } from './lockstep-gate.js';
import type { PartitionLifecycle } from './partition-lifecycle.js';
import type { BatchReport } from './owned-partition.js';
import type { PendingGradients } from './pending-gradients.js';
import type { PublishedParams } from '../../shared/paramserver-client/index.js';
import type { WorkerMetricsReporter } from './worker-metrics-reporter.js';

export interface ConsumeLoopOptions {
  readonly bus: KafkaBus;
  readonly topic: string;
  /** Most records per batch (= per transaction). */
  readonly maxBatchSize: number;
  readonly partitions: PartitionLifecycle;
  /** The model whose parameters each transaction uses (its version is reported). */
  readonly model: { readonly params: ParameterSet };
  /** Training only: the published versions, applied between batches. */
  readonly params: PublishedParams | undefined;
  /** Lockstep training only. */
  readonly gate: LockstepGate | undefined;
  readonly gradients: PendingGradients | undefined;
  readonly reporter: WorkerMetricsReporter;
  readonly logger: Logger;
  /** The worker is stopping: the loop ends after the batch in flight. */
  readonly signal: AbortSignal;
}

/**
 * The worker's runner: consumes `<app>.events` in the workers' group and hands each batch to its
 * partition's task, one transaction at a time. A Kafka failure drops every partition and rejoins
 * the group after a growing back-off (the group re-reads from the committed offsets, the state
 * comes back from the changelog); any other error, and a refused login, certificate or ACL
 * (KafkaSecurityError), ends the worker.
 */
export class ConsumeLoop {
  private readonly o: ConsumeLoopOptions;
  /** Kafka failures since the last committed transaction (the back-off grows with them). */
  private failures = 0;

  constructor(options: ConsumeLoopOptions) {
    this.o = options;
  }

  async run(): Promise<void> {
    const { bus, topic, maxBatchSize, partitions, reporter, logger, signal } = this.o;
    while (!signal.aborted) {
      const consumer = bus.consumer({ commit: 'caller' });
      try {
        for await (const records of consumer.batches({
          topic,
          maxBatchSize,
          onAssignment: partitions.onAssignment,
          // At least once a second: a partition restored meanwhile may bring timed work of its own.
          idleAfterMs: () => partitions.dueInMs() ?? 1_000,
          onLag: (partition, offsets) => reporter.lag(partition, offsets),
        })) {
          if (signal.aborted) break;
          if (records.length > 0) await this.process(records);
          await this.dueWork();
        }
      } catch (error) {
        if (signal.aborted) break;
        // A refused login, certificate or ACL stays refused: rejoining would only hide it.
        if (!(error instanceof KafkaTransportError) || error instanceof KafkaSecurityError)
          throw error;
        this.failures++;
        reporter.consumerRestarted(error);
        const backoffMs = restartBackoffMs(this.failures);
        logger.warn(
          { err: error, failures: this.failures, backoffMs },
          'Kafka failure: dropping owned partitions and rejoining the group (state comes back from the changelog)',
        );
        partitions.closeAll();
        this.o.gradients?.clear();
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  }

  /**
   * One consumed batch (records of one partition), in as many transactions as lockstep needs: a
   * transaction then ends at a training step, and the rest of the batch waits for the version
   * that step's gradient helps make (as in a single-process learner).
   */
  private async process(records: readonly KafkaBusRecord[]): Promise<void> {
    const { partitions, gate, signal } = this.o;
    const partition = records[0]!.partition;
    if (!partitions.isAssigned(partition)) return; // a batch of a revoked partition: not ours
    const task = await partitions.taskFor(partition);
    let rest = records;
    while (rest.length > 0 && !signal.aborted && partitions.isAssigned(partition)) {
      const batch = rest;
      const report = await this.transaction(partition, () =>
        task.process(batch, { stopAfterTrainStep: gate !== undefined }),
      );
      rest = rest.slice(report!.records);
    }
    partitions.closeIfRevoked(partition);
  }

  /**
   * Timed work, partition by partition (one transaction each): trains the ready keys whose
   * tbptt.maxWaitMs is over and evicts the keys idle past state.ttlMs though no event came for
   * them, so no ready key waits and no idle key stays for the next event of its partition — the
   * loop wakes up for them when no batch comes (idleAfterMs).
   */
  private async dueWork(): Promise<void> {
    const { partitions, signal } = this.o;
    for (const task of partitions.openTasks()) {
      if (signal.aborted) return;
      if (task.dueInMs() !== 0 || !partitions.isAssigned(task.partition)) continue;
      await this.transaction(task.partition, () => task.dueWork());
      partitions.closeIfRevoked(task.partition);
    }
  }

  /**
   * One transaction of `partition` run by `work` with the newest parameters (undefined: it had
   * nothing to do). A committed one is reported, then lockstep waits for its gradients.
   */
  private async transaction(
    partition: number,
    work: () => Promise<BatchReport | undefined>,
  ): Promise<BatchReport | undefined> {
    const { partitions, model, params, reporter, logger } = this.o;
    params?.applyNewest();
    const version = model.params.version;
    const started = performance.now();
    const report = await partitions.whileBusy(partition, () =>
      work().catch((error: unknown) => {
        reporter.transactionFailed();
        throw error;
      }),
    );
    if (!report) return undefined;
    this.failures = 0;
    reporter.batchCommitted(report, (performance.now() - started) / 1000);
    logger.debug(
      {
        partition,
        records: report.records,
        events: report.events,
        nextOffset: report.nextOffset,
        gradientRecords: report.gradientRecords,
        version,
      },
      'transaction committed',
    );
    await this.awaitLockstep(report.gradients, version);
    return report;
  }

  /** Lockstep training: waits until a published version has applied the gradients just sent. */
  private async awaitLockstep(sent: readonly GradientId[], version: number): Promise<void> {
    const { gate, logger } = this.o;
    if (gate && sent.length > 0 && !(await gate.waitUntilApplied({ sent, version })))
      logger.warn(
        { version, lockstepMs: gate.timeoutMs, gradients: sent.length },
        'lockstep: no published version applied our gradient within --params-lockstep-ms; going on with the newest version at hand',
      );
  }
}

/**
 * 0.5 s after the first failure in a row, then 1 s, 2 s, 4 s, then every 5 s: short enough that
 * a worker is back within seconds of the broker's return (readiness within the session timeout
 * + 30 s, test:chaos), long enough not to hammer a broker that is away.
 */
function restartBackoffMs(failures: number): number {
  return Math.min(5_000, 250 * 2 ** Math.min(failures, 5));
}
