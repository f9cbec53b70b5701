import type { TensorDType } from '../../shared/codec/tensor-codec.js';

import { asInputError, InputError } from '../../shared/errors/index.js';
import type { FeatureNormalizer } from '../../shared/events/feature-normalizer.js';
import type { Learner } from '../../shared/learner/create-learner.js';
import type { InputLimits } from '../../shared/events/input-limits.js';
import { encodeEvent, type EncodedEvent } from '../../shared/learner/event-encoder.js';
import {
  keyStateRecordOf,
  snapshotOfKeyState,
  stepLayoutOf,
  type StepLayout,
} from '../../shared/learner/key-state-mapping.js';
import type { StreamLearner } from '../../shared/learner/stream-learner.js';
import type { Prediction } from '../../shared/events/prediction.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  deadLetterOf,
  type KafkaBusRecord,
  type OutgoingRecord,
  type TopicNames,
  type TransactionalProducer,
} from '../../shared/transport/kafka/index.js';
import type { RestoredPartition } from '../../shared/learner/state-changelog.js';
import {
  keyStateOutgoing,
  normalizerOutgoing,
  progressOutgoing,
  tombstoneOutgoing,
} from './changelog-records.js';
import type { BatchReport, OwnedPartition } from './owned-partition.js';
import type { PendingGradients } from './pending-gradients.js';
import { decodeRecordEvent } from './record-event.js';
import { commitPartitionTransaction, type TransactionReport } from './partition-transaction.js';

export interface PartitionTaskOptions {
  readonly partition: number;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly producer: TransactionalProducer;
  /** The worker's model, vocabulary and trainer; the partition opens its own key space on them. */
  readonly learner: Learner;
  /** Bounds on one events-topic record (config `limits`); a record over one is dead-lettered. */
  readonly limits: InputLimits;
  /** Write the normaliser's statistics to the changelog (features input with normalize on). */
  readonly persistNormalizer: boolean;
  readonly gradients: PendingGradients | undefined;
  readonly gradientDtype: TensorDType;
  readonly logger: Logger;
  readonly now: () => number;
}

/**
 * One owned partition of the events topic: its keys' learner (state store), the transactional
 * producer that alone writes its changelog partition, and its progress. Every batch is one Kafka
 * transaction — state changelog records, tombstones, predictions, dead letters, gradients and the
 * consumed offsets commit together or not at all (exactly once, docs/design.md §5).
 */
export class PartitionTask implements OwnedPartition {
  readonly partition: number;
  private readonly o: PartitionTaskOptions;
  private readonly learner: StreamLearner;
  private readonly normalizer: FeatureNormalizer;
  private readonly layout: StepLayout;
  /** First events offset not yet processed (restored from the changelog, then advanced per commit). */
  private nextOffsetValue: number;
  /** Per key, the offset of its last processed event (the changelog record's inputOffset). */
  private readonly inputOffsets = new Map<string, number>();
  private evicted: string[] = [];
  /** Restored key states the model could not use (skipped; those keys start afresh). */
  unusableKeys = 0;

  constructor(options: PartitionTaskOptions, restored: RestoredPartition) {
    this.o = options;
    this.partition = options.partition;
    this.layout = stepLayoutOf(options.learner.spec);
    const keySpace = options.learner.openKeySpace({
      savedNormalizer: restored.normalizer,
      onEvict: (key) => this.evicted.push(key.key),
    });
    this.learner = keySpace.learner;
    this.normalizer = keySpace.normalizer;
    for (const record of restored.keys) {
      // A changelog record is outside bytes too: one the model cannot use loses that key's state
      // (it starts afresh), never the partition.
      try {
        this.learner.restoreKey(snapshotOfKeyState(record));
        this.inputOffsets.set(record.key, record.inputOffset);
      } catch (error) {
        this.unusableKeys++;
        options.logger.warn(
          { partition: options.partition, err: error },
          'a restored key state cannot be used: the key starts afresh',
        );
      }
    }
    this.nextOffsetValue = restored.nextOffset;
  }

  get nextOffset(): number {
    return this.nextOffsetValue;
  }

  get keys(): number {
    return this.learner.store.size;
  }

  /** Bytes of the per-key state arrays this partition holds (a walk over its keys). */
  stateBytes(): number {
    return this.learner.store.byteLength();
  }

  /**
   * Predicts and learns from a batch of this partition's records, in one transaction. With
   * `stopAfterTrainStep` the transaction ends right after the first training step (its gradient
   * included); `report.records` says how many records it took, and the caller processes the rest
   * once the parameters that step produces have arrived (lockstep training).
   */
  async process(
    batch: readonly KafkaBusRecord[],
    { stopAfterTrainStep = false }: { stopAfterTrainStep?: boolean } = {},
  ): Promise<BatchReport> {
    const { partition, logger } = this.o;
    const { spec, tokenizer: tokens, labels } = this.o.learner;
    const normalizer = this.normalizer;
    const t0 = performance.now();
    const decoded: Array<{ record: KafkaBusRecord; event?: EncodedEvent; error?: InputError }> = [];
    for (const record of batch) {
      if (record.offset < this.nextOffsetValue) continue;
      // Whatever goes wrong with one record is that record's dead letter: the rest of the batch
      // is processed as if it were not there, and the partition never stops on it.
      try {
        const event = decodeRecordEvent(record, this.o.limits);
        decoded.push({
          record,
          event: encodeEvent({ event, index: record.offset, spec, tokens, labels, normalizer }),
        });
      } catch (error) {
        if (!(error instanceof InputError))
          logger.error(
            { partition, offset: record.offset, err: error },
            'unexpected error on one event: dead-lettered, the batch goes on',
          );
        decoded.push({ record, error: asInputError(error) });
      }
    }
    const encoded = decoded.flatMap((d) => (d.event ? [d.event] : []));

    const t1 = performance.now();
    const predictions = await this.learner.process(encoded, { stopAfterTrainStep });
    const processed = this.learner.lastProcessed;
    // A bidirectional learner refuses the steps of a segment beyond its bound: dead letters too.
    const rejected = new Map(this.learner.drainRejected().map((r) => [r.index, r.error]));
    const t2 = performance.now();
    // The records this transaction covers: all, or those before the first event left unprocessed.
    const stopOffset = processed < encoded.length ? encoded[processed]!.index : Infinity;
    const records = batch.filter((r) => r.offset < stopOffset);
    // A step of keys left ready earlier can come before any record: then offsets stay put.
    const nextOffset = Math.max(this.nextOffsetValue, records.at(-1)?.nextOffset ?? 0);
    const fresh = decoded.filter((d) => d.record.offset < stopOffset);
    const deadLetters: OutgoingRecord[] = [];
    const lastOffsetOfKey = new Map<string, number>();
    for (const { record, event, error } of fresh) {
      if (event) lastOffsetOfKey.set(event.event.key, record.offset);
      const refusal = error ?? rejected.get(record.offset);
      if (refusal) deadLetters.push(this.deadLetter(record, refusal));
    }
    if (deadLetters.length > 0)
      logger.warn(
        { partition, deadLetters: deadLetters.length, firstOffset: fresh[0]?.record.offset },
        'malformed events sent to the dead-letter topic',
      );

    const t3 = performance.now();
    const committed = await this.commit({
      predictions,
      deadLetters,
      lastOffsetOfKey,
      nextOffset,
      normalizerChanged: encoded.length > 0,
    });
    return {
      partition,
      records: records.length,
      alreadyProcessed: records.length - fresh.length,
      events: processed - rejected.size,
      deadLetters: deadLetters.length,
      ...committed,
      nextOffset,
      timingsMs: {
        decode: t1 - t0,
        learn: t2 - t1,
        records: t3 - t2,
        transaction: performance.now() - t3,
      },
    };
  }

  /**
   * Ms until timed work of this partition is due: a ready key has waited tbptt.maxWaitMs, or a
   * key has been idle state.ttlMs (undefined: nothing is timed).
   */
  dueInMs(): number | undefined {
    const times = [this.learner.trainingDueInMs(), this.learner.evictionDueInMs()].filter(
      (t): t is number => t !== undefined,
    );
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /**
   * Trains the keys whose wait is over and evicts the keys idle past state.ttlMs although no
   * event came for them, in a transaction of their changelog records, tombstones and gradients
   * (the consumed offsets stay where they are); undefined when nothing was due.
   */
  async dueWork(): Promise<BatchReport | undefined> {
    const t0 = performance.now();
    const trained = await this.learner.trainDue();
    const evicted = this.learner.evictDue(); // their tombstones go in this transaction
    if (!trained && evicted === 0) return undefined;
    const t1 = performance.now();
    const nextOffset = this.nextOffsetValue;
    const committed = await this.commit({
      predictions: [],
      deadLetters: [],
      lastOffsetOfKey: new Map(),
      nextOffset,
      normalizerChanged: false,
    });
    return {
      partition: this.partition,
      records: 0,
      alreadyProcessed: 0,
      events: 0,
      deadLetters: 0,
      ...committed,
      nextOffset,
      timingsMs: { decode: 0, learn: t1 - t0, records: 0, transaction: performance.now() - t1 },
    };
  }

  /**
   * One transaction: the changelog records of the keys the learner changed (and of evicted keys),
   * predictions, dead letters, gradients and the consumed offsets; then the task's progress moves.
   */
  private async commit({
    predictions,
    deadLetters,
    lastOffsetOfKey,
    nextOffset,
    normalizerChanged,
  }: {
    predictions: readonly Prediction[];
    deadLetters: readonly OutgoingRecord[];
    lastOffsetOfKey: ReadonlyMap<string, number>;
    nextOffset: number;
    normalizerChanged: boolean;
  }): Promise<TransactionReport & Pick<BatchReport, 'tombstones'>> {
    const { partition, topics } = this.o;
    const tsMs = this.o.now();
    const changelog: OutgoingRecord[] = [];
    for (const key of this.learner.drainChangedKeys()) {
      const inputOffset = lastOffsetOfKey.get(key.key) ?? this.inputOffsets.get(key.key) ?? -1;
      changelog.push(
        keyStateOutgoing(
          keyStateRecordOf({
            snapshot: key.toSnapshot(),
            layout: this.layout,
            inputOffset,
            tsMs,
          }),
          partition,
        ),
      );
    }
    const evicted = this.evicted;
    this.evicted = [];
    for (const key of evicted) changelog.push(tombstoneOutgoing(key, partition));
    if (this.o.persistNormalizer && normalizerChanged)
      changelog.push(normalizerOutgoing(partition, this.normalizer.toJSON()));
    changelog.push(progressOutgoing(partition, nextOffset));
    const { producer, groupId, gradients, gradientDtype } = this.o;
    const committed = await commitPartitionTransaction({
      producer,
      topics,
      groupId,
      partition,
      gradients,
      gradientDtype,
      changelog,
      predictions,
      deadLetters,
      nextOffset,
    });
    this.nextOffsetValue = nextOffset;
    for (const [key, offset] of lastOffsetOfKey) this.inputOffsets.set(key, offset);
    for (const key of evicted) this.inputOffsets.delete(key);
    return { ...committed, tombstones: evicted.length };
  }

  /**
   * The dead letter of a record, with its original key and value bytes — of one over its limit
   * only the first DEAD_LETTER_KEEP_BYTES, so that the dead letter itself can be produced.
   */
  private deadLetter(record: KafkaBusRecord, error: InputError): OutgoingRecord {
    return deadLetterOf({ record, error, limits: this.o.limits, tsMs: this.o.now() });
  }
}
