import type { TensorDType } from '../../shared/codec/tensor-codec.js';
import { asInputError, InputError } from '../../shared/errors/index.js';
import type { InputLimits } from '../../shared/events/input-limits.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  encodePair,
  type EncodedPair,
  type PairEncoding,
} from '../../shared/learner/seq2seq/pair-encoder.js';
import type { Seq2seqLearner } from '../../shared/learner/seq2seq/seq2seq-learner.js';
import type { RestoredPartition } from '../../shared/learner/state-changelog.js';
import {
  deadLetterOf,
  type KafkaBusRecord,
  type OutgoingRecord,
  type TopicNames,
  type TransactionalProducer,
} from '../../shared/transport/kafka/index.js';
import { progressOutgoing } from './changelog-records.js';
import type { BatchReport, OwnedPartition } from './owned-partition.js';
import { commitPartitionTransaction } from './partition-transaction.js';
import type { PendingGradients } from './pending-gradients.js';
import { decodeRecordEvent } from './record-event.js';

export interface PairPartitionTaskOptions {
  readonly partition: number;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly producer: TransactionalProducer;
  /** The worker's sequence-to-sequence learner (one model for all partitions). */
  readonly learner: Seq2seqLearner;
  readonly encoding: PairEncoding;
  readonly limits: InputLimits;
  readonly gradients: PendingGradients | undefined;
  readonly gradientDtype: TensorDType;
  readonly logger: Logger;
  readonly now: () => number;
}

/**
 * One owned events partition of a sequence-to-sequence model (docs/design.md, "Sequence to
 * sequence"). Pairs carry no state from one to the next, so there is no key store: each batch is
 * one transaction of the partition's progress record, one prediction per pair (made before the
 * training step that learns from it), dead letters of the records that are no pair, the batch's
 * gradients and the consumed offset — the exactly-once transaction of §5 without key records.
 */
export class PairPartitionTask implements OwnedPartition {
  readonly partition: number;
  readonly keys = 0;
  readonly unusableKeys: number;
  private readonly o: PairPartitionTaskOptions;
  private nextOffsetValue: number;

  constructor(options: PairPartitionTaskOptions, restored: RestoredPartition) {
    this.o = options;
    this.partition = options.partition;
    this.nextOffsetValue = restored.nextOffset;
    // Key states in the changelog were written by a stream model of the same app: not ours.
    this.unusableKeys = restored.keys.length;
    if (restored.keys.length > 0)
      options.logger.warn(
        { partition: options.partition, keys: restored.keys.length },
        'the state changelog holds key states, which a seq2seq model does not use (pairs carry no state); they are ignored',
      );
  }

  get nextOffset(): number {
    return this.nextOffsetValue;
  }

  stateBytes(): number {
    return 0;
  }

  dueInMs(): undefined {
    return undefined;
  }

  async dueWork(): Promise<undefined> {
    return undefined;
  }

  /**
   * Predicts and learns from the pairs among `batch`, in one transaction. With
   * `stopAfterTrainStep` (lockstep) it takes pairs up to the first full training batch
   * (seq2seq.batchPairs) and the records before the next pair; the caller processes the rest once
   * the version that applied the step's gradient has arrived.
   */
  async process(
    batch: readonly KafkaBusRecord[],
    { stopAfterTrainStep = false }: { stopAfterTrainStep?: boolean } = {},
  ): Promise<BatchReport> {
    const { partition, logger, learner } = this.o;
    const t0 = performance.now();
    const fresh = batch.filter((r) => r.offset >= this.nextOffsetValue);
    const pairs: EncodedPair[] = [];
    const deadLetters: OutgoingRecord[] = [];
    let covered = fresh.length;
    for (const [i, record] of fresh.entries()) {
      if (stopAfterTrainStep && pairs.length === learner.batchPairs) {
        covered = i;
        break;
      }
      // Whatever is wrong with one record is that record's dead letter; the batch goes on.
      try {
        const event = decodeRecordEvent(record, this.o.limits);
        pairs.push(encodePair({ event, index: record.offset }, this.o.encoding));
      } catch (error) {
        if (!(error instanceof InputError))
          logger.error(
            { partition, offset: record.offset, err: error },
            'unexpected error on one pair: dead-lettered, the batch goes on',
          );
        deadLetters.push(
          deadLetterOf({
            record,
            error: asInputError(error),
            limits: this.o.limits,
            tsMs: this.o.now(),
          }),
        );
      }
    }
    if (deadLetters.length > 0)
      logger.warn(
        { partition, deadLetters: deadLetters.length, firstOffset: fresh[0]?.offset },
        'malformed pair events sent to the dead-letter topic',
      );
    const t1 = performance.now();
    const predictions = await learner.process(pairs);
    const t2 = performance.now();
    const taken = fresh.slice(0, covered);
    const alreadyProcessed = batch.filter((r) => r.offset < this.nextOffsetValue).length;
    const nextOffset =
      covered < fresh.length
        ? fresh[covered]!.offset
        : Math.max(this.nextOffsetValue, batch.at(-1)?.nextOffset ?? 0);
    const { producer, topics, groupId, gradients, gradientDtype } = this.o;
    const t3 = performance.now();
    const committed = await commitPartitionTransaction({
      producer,
      topics,
      groupId,
      partition,
      gradients,
      gradientDtype,
      changelog: [progressOutgoing(partition, nextOffset)],
      predictions,
      deadLetters,
      nextOffset,
    });
    this.nextOffsetValue = nextOffset;
    return {
      partition,
      records: alreadyProcessed + taken.length,
      alreadyProcessed,
      events: predictions.length,
      deadLetters: deadLetters.length,
      tombstones: 0,
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
}
