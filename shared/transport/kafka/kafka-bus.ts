import type { Admin, Consumer, Producer } from 'kafkajs';

import kafkajs from './kafkajs.js';

import type { Bus, BusConsumer, BusProducer } from '../bus.js';
import { createBatchHandoff } from './batch-handoff.js';
import type { KafkaClient } from './create-kafka-client.js';
import { withKafkaErrors, wrapKafkaError } from './kafka-errors.js';
import {
  fromKafkaMessage,
  splitIntoRequests,
  toKafkaMessages,
  type KafkaBusRecord,
  type OutgoingRecord,
} from './kafka-messages.js';

const { Partitioners } = kafkajs;

export interface KafkaBusProducer extends BusProducer<Uint8Array> {
  /** Appends records in order (per partition); a null value is a tombstone. Resolves once acknowledged by all in-sync replicas. */
  send({
    topic,
    messages,
  }: {
    topic: string;
    messages: ReadonlyArray<OutgoingRecord>;
  }): Promise<void>;
}

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
  }: {
    topic: string;
    maxBatchSize: number;
    /**
     * Called after every group (re)join with this member's partitions of `topic`, before batches
     * of the new assignment are yielded. Partitions missing from it were revoked: a batch of one of
     * them that is still being processed may fail to commit (fenced) or commit before the new owner
     * reads; owners reconcile through the offsets they restore.
     */
    onAssignment?: (partitions: readonly number[]) => void;
  }): AsyncIterable<ReadonlyArray<KafkaBusRecord>>;
}

/**
 * Who commits a consumer's offsets. `auto`: the bus, when the next batch is requested
 * (at-least-once). `caller`: never the bus; the caller commits them inside its transaction
 * (`transaction.sendOffsets({ consumerGroupId, topics: offsetsToCommit(records) })`), so input
 * offsets, state changelog and outputs commit together (exactly once).
 */
export type OffsetCommit = 'auto' | 'caller';

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

type EndOffsets = ReadonlyArray<{ partition: number; end: number; low: number }>;

/**
 * The Bus over kafkajs. The producer is idempotent (acks=all, one request in flight, so order per
 * partition holds across retries) and uses the Java client's partitioner (murmur2 of the key), so
 * records with the same key land in the same partition number in every topic of equal partition
 * count — `<app>.events` and `<app>.state-changelog` are co-partitioned that way.
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
  const { kafka, brokers, logger } = client;
  const log = logger.child({ component: 'kafka-bus' });
  let producerReady: Promise<Producer> | undefined;
  let adminReady: Promise<Admin> | undefined;
  const closedTopics = new Map<string, Promise<EndOffsets>>();
  const closeWaiters = new Map<string, Array<() => void>>();
  const activeConsumers = new Set<{ stop(): Promise<void> }>();

  const getProducer = (): Promise<Producer> => {
    producerReady ??= withKafkaErrors({ action: 'connect the producer', brokers }, async () => {
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: Math.max(1, client.retries) },
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      return producer;
    });
    producerReady.catch(() => (producerReady = undefined));
    return producerReady;
  };

  const getAdmin = (): Promise<Admin> => {
    adminReady ??= withKafkaErrors({ action: 'connect the admin client', brokers }, async () => {
      const admin = kafka.admin();
      await admin.connect();
      return admin;
    });
    adminReady.catch(() => (adminReady = undefined));
    return adminReady;
  };

  const endOffsets = async (topic: string): Promise<EndOffsets> => {
    const admin = await getAdmin();
    const offsets = await withKafkaErrors({ action: 'fetch end offsets', brokers, topic }, () =>
      admin.fetchTopicOffsets(topic),
    );
    return offsets.map(({ partition, high, low }) => ({
      partition,
      end: Number(high),
      low: Number(low),
    }));
  };

  /** Resolves when close(topic) has been called (at once if it has). */
  const closed = (topic: string): Promise<EndOffsets> =>
    new Promise<void>((resolve) => {
      if (closedTopics.has(topic)) resolve();
      else closeWaiters.set(topic, [...(closeWaiters.get(topic) ?? []), resolve]);
    }).then(() => closedTopics.get(topic)!);

  const drained = async (
    topic: string,
    group: string,
    target: EndOffsets,
    skipped: ReadonlyMap<number, { from: number; to: number }>,
  ): Promise<boolean> => {
    const admin = await getAdmin();
    const [committed] = await withKafkaErrors(
      { action: 'fetch committed offsets', brokers, topic, groupId: group },
      () => admin.fetchOffsets({ groupId: group, topics: [topic] }),
    );
    const position = new Map(
      (committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
    );
    return target.every(({ partition, end, low }) => {
      let at = position.get(partition) ?? -1;
      const gap = skipped.get(partition);
      if (gap !== undefined && Math.max(at, low) >= gap.from) at = Math.max(at, gap.to);
      return at >= end || (at < 0 && end <= low);
    });
  };

  async function* consume({
    topic,
    maxBatchSize,
    group,
    commit,
    onAssignment,
  }: {
    topic: string;
    maxBatchSize: number;
    group: string;
    commit: OffsetCommit;
    onAssignment: ((partitions: readonly number[]) => void) | undefined;
  }): AsyncGenerator<ReadonlyArray<KafkaBusRecord>, void, undefined> {
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1)
      throw new RangeError(`maxBatchSize = ${maxBatchSize}: must be an integer >= 1`);
    const context = { brokers, topic, groupId: group };
    const handoff = createBatchHandoff<ReadonlyArray<KafkaBusRecord>>();
    const consumer: Consumer = kafka.consumer({
      groupId: group,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: maxWaitTimeMs,
      maxBytesPerPartition,
      maxBytes,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        log.warn(
          { topic, groupId: group, err: payload.error },
          'Kafka consumer crashed; kafkajs restarts it',
        );
      } else {
        handoff.end(wrapKafkaError(payload.error, { ...context, action: 'consume' }));
      }
    });
    if (onAssignment) {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
        onAssignment([...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)),
      );
    }
    // Ranges kafkajs skipped without calling eachBatch (only aborted records / transaction markers):
    // a position at or past `from` counts as `to` when checking whether the group has drained.
    const skipped = new Map<number, { from: number; to: number }>();
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic || payload.batchSize !== 0 || payload.firstOffset === null)
        return;
      skipped.set(payload.partition, {
        from: Number(payload.firstOffset),
        to: Number(payload.lastOffset) + 1,
      });
    });
    let disconnecting: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      handoff.end();
      disconnecting ??= consumer
        .disconnect()
        .catch((error: unknown) =>
          log.warn({ topic, groupId: group, err: error }, 'Kafka consumer disconnect failed'),
        )
        .finally(() => activeConsumers.delete(entry));
      return disconnecting;
    };
    const entry = { stop };
    activeConsumers.add(entry);

    // After close(topic): end once the group has committed up to the end offsets.
    const watchDrain = async () => {
      const atClose = await closed(topic);
      let drainedSince: number | undefined;
      while (!handoff.ended) {
        // The end moves on while commit markers of transactions finished before close() land.
        const target = raiseEnds(atClose, await endOffsets(topic));
        if (await drained(topic, group, target, skipped)) {
          drainedSince ??= Date.now();
          if (Date.now() - drainedSince >= drainSettleMs) {
            handoff.end();
            return;
          }
        } else {
          drainedSince = undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, drainPollIntervalMs));
      }
    };

    try {
      await withKafkaErrors({ ...context, action: 'start consuming' }, async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          autoCommit: commit === 'auto',
          autoCommitInterval: commitIntervalMs,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: async ({
            batch,
            resolveOffset,
            heartbeat,
            commitOffsetsIfNecessary,
            isRunning,
            isStale,
          }) => {
            for (let start = 0; start < batch.messages.length; start += maxBatchSize) {
              if (!isRunning() || isStale() || handoff.ended) return;
              const slice = batch.messages.slice(start, start + maxBatchSize);
              const batchEnd = Number(batch.lastOffset()) + 1;
              const last = start + slice.length === batch.messages.length;
              const records = slice.map((message, i) =>
                fromKafkaMessage({
                  topic: batch.topic,
                  partition: batch.partition,
                  message,
                  ...(last && i === slice.length - 1 ? { nextOffset: batchEnd } : {}),
                }),
              );
              // Heartbeats keep the group membership while the batch is being processed.
              const processed = await waitWithHeartbeats(
                handoff.put(records),
                heartbeat,
                heartbeatIntervalMs,
              );
              if (!processed) return;
              resolveOffset(slice[slice.length - 1]!.offset);
              await heartbeat();
              await commitOffsetsIfNecessary();
            }
          },
        });
      });
      watchDrain().catch((error: unknown) => handoff.end(error));
      for (;;) {
        const records = await handoff.take();
        if (records === undefined) return;
        yield records;
      }
    } finally {
      await stop();
    }
  }

  return {
    producer: () => ({
      async send({ topic, messages }) {
        if (messages.length === 0) return;
        const producer = await getProducer();
        await withKafkaErrors(
          { action: `send ${messages.length} records`, brokers, topic },
          async () => {
            for (const [request] of splitIntoRequests([{ topic, messages }]))
              await producer.send({
                topic,
                acks: -1,
                messages: toKafkaMessages(request!.messages),
              });
          },
        );
      },
    }),
    consumer: ({
      groupId: group = groupId,
      commit = 'auto',
    }: { groupId?: string; commit?: OffsetCommit } = {}) => ({
      batches: ({ topic, maxBatchSize, onAssignment }) =>
        consume({ topic, maxBatchSize, group, commit, onAssignment }),
    }),
    close(topic) {
      if (closedTopics.has(topic)) return;
      const offsets = endOffsets(topic);
      offsets.catch(() => {}); // reported by the consumers that wait for it
      closedTopics.set(topic, offsets);
      for (const wake of closeWaiters.get(topic) ?? []) wake();
      closeWaiters.delete(topic);
    },
    async disconnect() {
      await Promise.all([...activeConsumers].map((c) => c.stop()));
      const producer = producerReady;
      const admin = adminReady;
      producerReady = undefined;
      adminReady = undefined;
      await Promise.all([
        producer?.then((p) => p.disconnect()).catch(() => {}),
        admin?.then((a) => a.disconnect()).catch(() => {}),
      ]);
    },
  };
}

function raiseEnds(a: EndOffsets, b: EndOffsets): EndOffsets {
  const later = new Map(b.map((p) => [p.partition, p.end]));
  return a.map((p) => ({ ...p, end: Math.max(p.end, later.get(p.partition) ?? p.end) }));
}

/** Awaits `done`, calling `heartbeat` every `intervalMs` meanwhile (a heartbeat error is thrown). */
async function waitWithHeartbeats<T>(
  done: Promise<T>,
  heartbeat: () => Promise<void>,
  intervalMs: number,
): Promise<T> {
  const TICK = Symbol('tick');
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<typeof TICK>(
      (resolve) => (timer = setTimeout(() => resolve(TICK), intervalMs)),
    );
    const result = await Promise.race([done, tick]);
    clearTimeout(timer);
    if (result !== TICK) return result as T;
    await heartbeat();
  }
}
