/**
 * Where the decoder's answers go, exactly once: per owned partition of `<app>.decode-requests`
 * one transactional producer (id `<group>.<requests topic>.<partition>`, as the workers name
 * theirs), and per computed batch one transaction per partition holding its final results, its
 * dead letters and the group offset past them. A decoder that took the partition over fences the
 * previous owner's producer, so a zombie's answers abort and the new owner answers again from
 * the committed offset: every request gets exactly one committed final result.
 */
import { encodeDecodeResult, type DecodeResult } from '../../shared/codec/decode-codec.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  createTransactionalProducer,
  KafkaTransportError,
  type KafkaClient,
  type OutgoingRecord,
  type TopicNames,
  type TransactionalProducer,
} from '../../shared/transport/kafka/index.js';

export interface PartitionAnswers {
  readonly partition: number;
  readonly results: readonly DecodeResult[];
  readonly deadLetters: readonly OutgoingRecord[];
  /** The first request offset not answered yet (committed as the group's offset). */
  readonly nextOffset: number;
}

export class ResultOutbox {
  private readonly o: { client: KafkaClient; groupId: string; topics: TopicNames; logger: Logger };
  private readonly producers = new Map<number, TransactionalProducer>();

  constructor(options: {
    client: KafkaClient;
    groupId: string;
    topics: TopicNames;
    logger: Logger;
  }) {
    this.o = options;
  }

  /** Connects the partitions' producers: fences their previous owner (its open transaction aborts). */
  async open(partitions: readonly number[]): Promise<void> {
    const { client, groupId, topics } = this.o;
    await Promise.all(
      partitions.map(async (partition) => {
        if (this.producers.has(partition)) return;
        const producer = createTransactionalProducer({
          client,
          transactionalId: `${groupId}.${topics.decodeRequests}.${partition}`,
          // Batches commit back to back: retry the coordinator's "previous commit still
          // completing" answer within milliseconds, not kafkajs' default 300 ms.
          initialRetryTimeInMs: 10,
        });
        this.producers.set(partition, producer);
        await producer.connect();
      }),
    );
  }

  /** The partitions moved away: their producers disconnect (nothing of theirs is open). */
  async close(partitions: Iterable<number>): Promise<void> {
    const closing = [...partitions].map((partition) => {
      const producer = this.producers.get(partition);
      this.producers.delete(partition);
      return producer?.disconnect().catch(() => {});
    });
    await Promise.all(closing);
  }

  owns(partition: number): boolean {
    return this.producers.has(partition);
  }

  /**
   * Commits each partition's answers in its own transaction (partitions in parallel). Returns the
   * partitions whose transaction failed: fenced (another decoder owns it now) or a Kafka failure;
   * their requests are answered again by whoever reads from the committed offset.
   */
  async commit(answers: readonly PartitionAnswers[]): Promise<number[]> {
    const failed: number[] = [];
    await Promise.all(
      answers.map(async (a) => {
        try {
          await this.commitPartition(a);
        } catch (error) {
          failed.push(a.partition);
          this.o.logger.warn(
            {
              err: error,
              partition: a.partition,
              results: a.results.length,
              retriable: error instanceof KafkaTransportError ? error.retriable : undefined,
            },
            'answer transaction failed: the requests stay uncommitted and are answered again after the group rebalances',
          );
        }
      }),
    );
    return failed;
  }

  async disconnect(): Promise<void> {
    await this.close([...this.producers.keys()]);
  }

  private async commitPartition({
    partition,
    results,
    deadLetters,
    nextOffset,
  }: PartitionAnswers): Promise<void> {
    const producer = this.producers.get(partition);
    if (producer === undefined)
      throw new Error(
        `partition ${partition} of the decode requests moved to another decoder: its requests are answered there`,
      );
    const { topics, groupId } = this.o;
    const transaction = await producer.transaction();
    try {
      await transaction.sendBatch([
        {
          topic: topics.decodeResults,
          messages: results.map((r) => ({ key: r.requestId, value: encodeDecodeResult(r) })),
        },
        { topic: topics.deadLetter, messages: deadLetters },
      ]);
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: topics.decodeRequests, partitions: [{ partition, offset: nextOffset }] }],
      });
      await transaction.commit();
    } catch (error) {
      if (transaction.isActive()) await transaction.abort().catch(() => {});
      throw error;
    }
  }
}
