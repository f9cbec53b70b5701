import type { Logger } from '../../shared/logging/index.js';
import type { ServiceProbes } from '../../shared/metrics/probes.js';
import {
  KeyStateGauges,
  recordPredictions,
  recordTrainStep,
  type WorkerMetrics,
} from '../../shared/metrics/worker-metrics.js';
import type { TrainStepResult } from '../../shared/tbptt/tbptt-trainer.js';
import type { BatchReport } from './owned-partition.js';
import type { RestoreReport } from './partition-lifecycle.js';

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

/** What the worker looks like right now (for gauges and progress lines). */
export interface WorkerView {
  partitions(): number[];
  keys(): number;
  /** Bytes of per-key state arrays held across the owned partitions. */
  stateBytes(): number;
  paramVersion(): number;
  trainSteps(): number;
}

export interface WorkerMetricsReporterOptions {
  readonly workerId: string;
  /** Prometheus families to update; absent: none. */
  readonly metrics: WorkerMetrics | undefined;
  readonly logger: Logger;
  readonly now: () => number;
  readonly progressIntervalMs: number;
  readonly onBatch: ((report: BatchReport) => void) | undefined;
  readonly onRestore: ((report: RestoreReport) => void) | undefined;
  /** /healthz and /readyz conditions `group`, `restore` and the `kafka` part; absent: none. */
  readonly probes?: ServiceProbes | undefined;
}

/**
 * Everything the worker tells the outside about its work: Prometheus families, the periodic
 * progress line, the onBatch / onRestore callbacks and the summary it ends with. The other units
 * report events here and never count anything themselves. Created first (they report to it),
 * started once the worker is wired (the clock and the view of its state start then).
 */
export class WorkerMetricsReporter {
  private readonly o: WorkerMetricsReporterOptions;
  private view: WorkerView = {
    partitions: () => [],
    keys: () => 0,
    stateBytes: () => 0,
    paramVersion: () => 0,
    trainSteps: () => 0,
  };
  private startedMs: number;
  private readonly totals = {
    events: 0,
    deadLetters: 0,
    batches: 0,
    alreadyProcessed: 0,
    restoredKeys: 0,
    restoreMs: 0,
    consumerRestarts: 0,
  };
  private lastProgressMs: number;
  private eventsAtProgress = 0;
  /** Restores begun and not yet reported (readiness waits for 0). */
  private restoresInFlight = 0;
  /** Partitions with a consumer-lag series. */
  private readonly lagPartitions = new Set<number>();
  private readonly keyStateGauges: KeyStateGauges | undefined;

  constructor(options: WorkerMetricsReporterOptions) {
    this.o = options;
    this.keyStateGauges = options.metrics && new KeyStateGauges(options.metrics, options.now);
    this.startedMs = options.now();
    this.lastProgressMs = this.startedMs;
  }

  /** The worker starts consuming (after its wait for parameters): the summary counts from here. */
  start(view: WorkerView): void {
    this.view = view;
    this.startedMs = this.o.now();
    this.lastProgressMs = this.startedMs;
  }

  /** A training step (of TBPTT windows, or of a batch of pairs). */
  trainStepped(result: Pick<TrainStepResult, 'tokens' | 'lossSum'>): void {
    if (this.o.metrics) recordTrainStep(this.o.metrics, result);
  }

  /** A batch's transaction committed, `seconds` after the batch started. */
  batchCommitted(report: BatchReport, seconds: number): void {
    const m = this.o.metrics;
    if (m) {
      m.eventsProcessed.inc(report.events);
      m.deadLetters.inc(report.deadLetters);
      m.eventsAlreadyProcessed.inc(report.alreadyProcessed);
      m.transactions.inc();
      m.batchDuration.observe(seconds);
      m.transactionDuration.observe(report.timingsMs.transaction / 1000);
      m.changelogRecords.inc(report.changelogRecords);
      m.evictedKeys.inc(report.tombstones);
      m.gradientBytesSent.inc(report.gradientBytes);
      recordPredictions(m, report.tally);
      this.keyStateGauges?.observe({
        keys: this.view.keys(),
        paramVersion: this.view.paramVersion(),
        stateBytes: () => this.view.stateBytes(),
      });
      m.ownedPartitions.set(this.view.partitions().length);
    }
    this.totals.events += report.events;
    this.totals.deadLetters += report.deadLetters;
    this.totals.alreadyProcessed += report.alreadyProcessed;
    this.totals.batches++;
    this.o.probes?.recovered('kafka');
    this.o.onBatch?.(report);
    this.progress();
  }

  transactionFailed(): void {
    this.o.metrics?.transactionFailures.inc();
  }

  /** A Kafka failure: the worker dropped its partitions and rejoins the group after a back-off. */
  consumerRestarted(error: Error): void {
    this.totals.consumerRestarts++;
    this.o.metrics?.consumerRestarts.inc();
    this.restoresInFlight = 0;
    this.o.probes?.failed('kafka', error.message);
    this.o.probes?.unmet('group', 'rejoining the consumer group after a Kafka failure');
  }

  /**
   * The group (re)assigned this worker its partitions; lag series of the others go. A join
   * answered by the coordinator ends a Kafka failure too: partitions with nothing left to read
   * would otherwise keep the worker unready until their next event.
   */
  assigned(partitions: readonly number[]): void {
    this.o.probes?.met('group');
    this.o.probes?.recovered('kafka');
    for (const partition of this.lagPartitions)
      if (!partitions.includes(partition)) {
        this.o.metrics?.consumerLag.remove({ partition: String(partition) });
        this.lagPartitions.delete(partition);
      }
  }

  /** The consumer fetched up to `offsets` behind the high watermark of `partition`. */
  lag(partition: number, offsets: number): void {
    this.lagPartitions.add(partition);
    this.o.metrics?.consumerLag.set({ partition: String(partition) }, offsets);
  }

  /** Newly assigned partitions start restoring from the changelog. */
  restoreStarted(partitions: readonly number[]): void {
    this.restoresInFlight++;
    this.o.probes?.unmet(
      'restore',
      `restoring partitions ${partitions.join(', ')} from the state changelog`,
    );
  }

  /** Changelog offsets still to read before the partitions being opened are restored. */
  restoreRemaining(offsets: number): void {
    this.o.metrics?.restoreRemainingOffsets.set(offsets);
  }

  restored(report: RestoreReport): void {
    this.restoresInFlight = Math.max(0, this.restoresInFlight - 1);
    if (this.restoresInFlight === 0) this.o.probes?.met('restore');
    this.totals.restoredKeys += report.keys;
    this.totals.restoreMs += report.durationMs;
    this.o.metrics?.restoreDuration.observe(report.durationMs / 1000);
    this.o.metrics?.restoredKeys.inc(report.keys);
    this.o.metrics?.restoreRecords.inc(report.records);
    this.o.logger.info(report, 'partitions restored');
    this.o.onRestore?.(report);
  }

  summary(): WorkerSummary {
    const seconds = (this.o.now() - this.startedMs) / 1000;
    return {
      workerId: this.o.workerId,
      ...this.totals,
      trainSteps: this.view.trainSteps(),
      seconds,
      eventsPerSecond: seconds > 0 ? this.totals.events / seconds : 0,
    };
  }

  /** The progress line, at most once per progressIntervalMs. */
  private progress(): void {
    const t = this.o.now();
    if (t - this.lastProgressMs < this.o.progressIntervalMs) return;
    const { events, deadLetters } = this.totals;
    const eventsPerSecond = ((events - this.eventsAtProgress) * 1000) / (t - this.lastProgressMs);
    this.o.logger.info(
      {
        events,
        eventsPerSecond: Math.round(eventsPerSecond),
        partitions: this.view.partitions(),
        keys: this.view.keys(),
        deadLetters,
        trainSteps: this.view.trainSteps(),
        paramVersion: this.view.paramVersion(),
      },
      'worker progress',
    );
    this.lastProgressMs = t;
    this.eventsAtProgress = events;
  }
}
