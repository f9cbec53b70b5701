import type { GradientId } from '../../shared/codec/param-codec.js';
import type { PredictionTally } from '../../shared/evaluation/index.js';
import type { RestoredPartition } from '../../shared/learner/state-changelog.js';
import type { KafkaBusRecord, TransactionalProducer } from '../../shared/transport/kafka/index.js';

/**
 * What the worker runs for one owned partition of `<app>.events`: a stream model's key store
 * (PartitionTask) or a pair model's (PairPartitionTask). The consume loop, the partition
 * lifecycle and the metrics see only this: batches in, one transaction each, reports out.
 */
export interface OwnedPartition {
  readonly partition: number;
  /** First events offset not yet processed. */
  readonly nextOffset: number;
  /** Live keys (0 for pairs: they carry no state). */
  readonly keys: number;
  /** Restored key states the model could not use (those keys start afresh). */
  readonly unusableKeys: number;
  /** Bytes of the per-key state arrays held. */
  stateBytes(): number;
  /**
   * Predicts and learns from a batch of this partition's records in one transaction; with
   * `stopAfterTrainStep` it ends right after the first training step (lockstep) and
   * `report.records` says how many records it took.
   */
  process(
    batch: readonly KafkaBusRecord[],
    options?: { stopAfterTrainStep?: boolean },
  ): Promise<BatchReport>;
  /** Ms until timed work is due (undefined: none). */
  dueInMs(): number | undefined;
  /** The timed work in its own transaction; undefined when nothing was due. */
  dueWork(): Promise<BatchReport | undefined>;
}

/** Opens the task of a partition whose producer is fenced and whose changelog was read. */
export type OpenPartition = (parts: {
  partition: number;
  producer: TransactionalProducer;
  restored: RestoredPartition;
}) => OwnedPartition;

/** What one processed batch did (for logs and metrics). */
export interface BatchReport {
  readonly partition: number;
  readonly records: number;
  /** Records below the restored progress: already reflected downstream, only their offsets commit. */
  readonly alreadyProcessed: number;
  readonly events: number;
  readonly deadLetters: number;
  readonly changelogRecords: number;
  readonly tombstones: number;
  readonly gradientRecords: number;
  readonly gradientBytes: number;
  /** Sums over the batch's predictions (for the running-metric counters). */
  readonly tally: PredictionTally;
  /** The gradients the transaction sent (a version that applied them lists them). */
  readonly gradients: readonly GradientId[];
  readonly nextOffset: number;
  /** Where the batch's time went, ms: decoding + encoding events, the learner, building the records, the transaction. */
  readonly timingsMs: {
    readonly decode: number;
    readonly learn: number;
    readonly records: number;
    readonly transaction: number;
  };
}
