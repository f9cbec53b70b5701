import type { BatchOptions, Bus, BusConsumer } from '../bus.js';
import {
  consumeBatches,
  type BusConsumerParts,
  type ConsumerSettings,
  type OffsetCommit,
} from './bus-consumer.js';
import { createBusProducerSide, type KafkaBusProducer } from './bus-producer.js';
import type { KafkaClient } from './create-kafka-client.js';
import type { KafkaBusRecord } from './kafka-messages.js';
import { createTopicDrain } from './topic-drain.js';

export interface KafkaBusConsumer extends BusConsumer<Uint8Array> {
  /**
   * Joins the consumer group, reads `topic` from the group's committed offsets (from the beginning
   * for a new group) and yields batches of at most `maxBatchSize` records of one partition, in
   * offset order. With commit `auto` a batch's offsets are committed when the next batch is
   * requested (at-least-once: a batch whose loop body threw or broke out is delivered again to the
   * group); with `caller` the caller commits them. Only committed transactional records are seen
   * (read_committed). Ends after `close(topic)` once the group has committed everything up to the
   * topic's end.
   */
  batches({
    topic,
    maxBatchSize,
    onAssignment,
    idleAfterMs,
    onLag,
  }: BatchOptions & {
    /**
     * Called after every group (re)join with this member's partitions of `topic`, before batches
     * of the new assignment are yielded. Partitions missing from it were revoked: a batch of one of
     * them that is still being processed may fail to commit (fenced) or commit before the new owner
     * reads; owners reconcile through the offsets they restore.
     */
    onAssignment?: (partitions: readonly number[]) => void;
    /**
     * Called after each fetched batch of `topic` with its partition's lag: offsets between the
     * batch's last record and the high watermark the fetch saw (consumer lag, as Kafka's tools
     * report it; transaction markers count). A fetch with no records reports nothing.
     */
    onLag?: (partition: number, offsets: number) => void;
  }): AsyncIterable<ReadonlyArray<KafkaBusRecord>>;
}

export interface KafkaBus extends Bus<Uint8Array> {
  producer(): KafkaBusProducer;
  /** A consumer in the bus' group (or `groupId`); `commit` says who commits its offsets (default auto). */
  consumer(options?: { groupId?: string; commit?: OffsetCommit }): KafkaBusConsumer;
  /**
   * No more records will be produced to this topic: its consumers in this process end once their
   * group has committed offsets up to the topic's end — its last stable offsets (read_committed),
   * taken at this call and again while draining — and that has held for `drainSettleMs`.
   * Call it after the producers are done. The settle time covers the moment after a transactional
   * commit() returns while the broker is still writing the commit markers (the last stable offset
   * only moves past the transaction then); a transaction still open is not waited for.
   */
  close(topic: string): void;
  /** Ends every consumer of this bus and disconnects the producer and the admin client. */
  disconnect(): Promise<void>;
}

/**
 * The Bus over kafkajs: a facade over its producer side (bus-producer.ts), its consumer-group
 * side (bus-consumer.ts) and its end-of-topic tracking (topic-drain.ts). The producer is
 * idempotent and uses the Java client's partitioner (murmur2 of the key), so records with the
 * same key land in the same partition number in every topic of equal partition count —
 * `<app>.events` and `<app>.state-changelog` are co-partitioned that way.
 *
 * Consumers are read_committed (`readUncommitted: false`): records of aborted transactions and of
 * transactions still open are never yielded; consumption of a partition stops at its last stable
 * offset until the open transaction ends.
 */
export function createKafkaBus({
  client,
  groupId,
  maxWaitTimeMs = 500,
  maxBytesPerPartition = 1024 * 1024,
  maxBytes = 10 * 1024 * 1024,
  sessionTimeoutMs = 30_000,
  heartbeatIntervalMs = 3_000,
  drainPollIntervalMs = 100,
  commitIntervalMs = 1_000,
  drainSettleMs = 300,
}: {
  client: KafkaClient;
  /** Consumer group of consumer(); members of one group share a topic's partitions. */
  groupId: string;
  /** Longest time a fetch waits for data on the broker (also bounds how long disconnect waits). */
  maxWaitTimeMs?: number;
  /**
   * Most bytes one fetch returns per partition and in all (kafkajs' defaults: 1 MiB, 10 MiB).
   * Raise them for topics of large chunked records (parameters, gradients): each fetch of a
   * 900 KB chunk is a round trip.
   */
  maxBytesPerPartition?: number;
  maxBytes?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How often an ending consumer checks its group's committed offsets after close(). */
  drainPollIntervalMs?: number;
  /** Processed offsets are committed at least this often within a long fetch batch, and always at its end. */
  commitIntervalMs?: number;
  /** After close(), how long the group must stay caught up with the topic's end before consumers end. */
  drainSettleMs?: number;
}): KafkaBus {
  const log = client.logger.child({ component: 'kafka-bus' });
  const producerSide = createBusProducerSide({ client });
  const drain = createTopicDrain({ client, drainPollIntervalMs, drainSettleMs });
  const settings: ConsumerSettings = {
    maxWaitTimeMs,
    maxBytesPerPartition,
    maxBytes,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    commitIntervalMs,
  };
  const consumers: BusConsumerParts = { client, log, settings, drain, running: new Set() };
  return {
    producer: producerSide.producer,
    consumer: ({ groupId: group = groupId, commit = 'auto' } = {}) => ({
      batches: ({ topic, maxBatchSize, onAssignment, idleAfterMs, onLag }) =>
        consumeBatches({
          bus: consumers,
          subscription: { topic, group, onAssignment, idleAfterMs, onLag },
          maxBatchSize,
          commit,
        }),
    }),
    close: (topic) => drain.close(topic),
    async disconnect() {
      await Promise.all([...consumers.running].map((consumer) => consumer.stop()));
      await Promise.all([producerSide.disconnect(), drain.disconnect()]);
    },
  };
}
