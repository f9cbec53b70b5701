import { encodePredictions } from '../../shared/codec/index.js';
import type { TensorDType } from '../../shared/codec/tensor-codec.js';
import { tallyPredictions } from '../../shared/evaluation/index.js';
import type { Prediction } from '../../shared/events/prediction.js';
import type {
  OutgoingRecord,
  TopicNames,
  TransactionalProducer,
} from '../../shared/transport/kafka/index.js';
import type { BatchReport } from './owned-partition.js';
import type { PendingGradients } from './pending-gradients.js';

/** What a committed transaction wrote, for the batch's report. */
export type TransactionReport = Pick<
  BatchReport,
  'changelogRecords' | 'gradientRecords' | 'gradientBytes' | 'tally' | 'gradients'
>;

/**
 * One transaction of an owned events partition (docs/design.md §5): its changelog records, the
 * predictions, dead letters and pending gradients, and the consumed offset `nextOffset` commit
 * together or not at all. Aborted on any failure (and thrown): the caller's batch is then read
 * again from the committed offset.
 */
export async function commitPartitionTransaction({
  producer,
  topics,
  groupId,
  partition,
  changelog,
  predictions,
  deadLetters,
  gradients,
  gradientDtype,
  nextOffset,
}: {
  producer: TransactionalProducer;
  topics: TopicNames;
  /** The workers' consumer group, whose offset of `partition` commits with the transaction. */
  groupId: string;
  partition: number;
  changelog: readonly OutgoingRecord[];
  predictions: readonly Prediction[];
  deadLetters: readonly OutgoingRecord[];
  gradients: PendingGradients | undefined;
  gradientDtype: TensorDType;
  nextOffset: number;
}): Promise<TransactionReport> {
  const { records: gradientRecords, ids } = gradients?.drain({ dtype: gradientDtype }) ?? {
    records: [],
    ids: [],
  };
  const predictionValues = encodePredictions(predictions, { partition });
  const predictionRecords = predictions.map((p, i) => ({
    key: p.key,
    value: predictionValues[i]!,
  }));
  const transaction = await producer.transaction();
  try {
    await transaction.sendBatch([
      { topic: topics.stateChangelog, messages: [...changelog] },
      { topic: topics.predictions, messages: predictionRecords },
      { topic: topics.deadLetter, messages: [...deadLetters] },
      { topic: topics.gradients, messages: gradientRecords },
    ]);
    await transaction.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: topics.events, partitions: [{ partition, offset: nextOffset }] }],
    });
    await transaction.commit();
  } catch (error) {
    if (transaction.isActive()) await transaction.abort().catch(() => {});
    throw error;
  }
  return {
    changelogRecords: changelog.length,
    gradientRecords: gradientRecords.length,
    gradientBytes: gradientRecords.reduce((sum, r) => sum + (r.value?.byteLength ?? 0), 0),
    tally: tallyPredictions(predictions),
    gradients: ids,
  };
}
