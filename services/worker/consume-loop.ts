import type { Logger } from '../../shared/logging/index.js';
import type { RecurrentModel } from '../../shared/model/recurrent-model.js';
import {
  KafkaTransportError,
  type KafkaBus,
  type KafkaBusRecord,
} from '../../shared/transport/kafka/index.js';
import type { LockstepGate } from './lockstep-gate.js';
import type { PartitionLifecycle } from './partition-lifecycle.js';
import type { PendingGradients } from './pending-gradients.js';
import type { PublishedParams } from '../../shared/paramserver-client/index.js';
import type { WorkerMetricsReporter } from './worker-metrics-reporter.js';

export interface ConsumeLoopOptions {
  readonly bus: KafkaBus;
  readonly topic: string;
  /** Most records per batch (= per transaction). */
  readonly maxBatchSize: number;
  readonly partitions: PartitionLifecycle;
  readonly model: RecurrentModel;
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
 * comes back from the changelog); any other error ends the worker.
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
        })) {
          if (signal.aborted) break;
          await this.process(records);
        }
      } catch (error) {
        if (signal.aborted) break;
        if (!(error instanceof KafkaTransportError)) throw error;
        this.failures++;
        reporter.consumerRestarted();
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
    const { partitions, model, params, gate, reporter, logger, signal } = this.o;
    const partition = records[0]!.partition;
    if (!partitions.isAssigned(partition)) return; // a batch of a revoked partition: not ours
    const task = await partitions.taskFor(partition);
    let rest = records;
    while (rest.length > 0 && !signal.aborted && partitions.isAssigned(partition)) {
      params?.applyNewest();
      const version = model.params.version;
      const started = performance.now();
      const report = await partitions.whileBusy(partition, () =>
        task.process(rest, { stopAfterTrainStep: gate !== undefined }).catch((error: unknown) => {
          reporter.transactionFailed();
          throw error;
        }),
      );
      this.failures = 0;
      rest = rest.slice(report.records);
      reporter.batchCommitted(report, (performance.now() - started) / 1000);
      logger.debug(
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
      if (gate && sent.length > 0 && !(await gate.waitUntilApplied({ sent, version })))
        logger.warn(
          { version, lockstepMs: gate.timeoutMs, gradients: sent.length },
          'lockstep: no published version applied our gradient within --params-lockstep-ms; going on with the newest version at hand',
        );
    }
    partitions.closeIfRevoked(partition);
  }
}

/** 0.5 s after the first failure in a row, doubling up to 30 s. */
function restartBackoffMs(failures: number): number {
  return Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
}
