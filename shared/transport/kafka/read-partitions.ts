import { randomUUID } from 'node:crypto';

import type { Consumer } from 'kafkajs';

import { withKafkaAdmin } from './admin-session.js';
import type { KafkaClient } from './create-kafka-client.js';
import { topicEndOffsets } from './group-offsets.js';
import { KafkaTransportError, withKafkaErrors, wrapKafkaError } from './kafka-errors.js';
import { fromKafkaMessage, type KafkaBusRecord } from './kafka-messages.js';

export interface ReadPartitionsResult {
  /** Records handed to onRecords. */
  readonly records: number;
  readonly bytes: number;
  /** Per partition, the end offset read up to. */
  readonly endOffsets: ReadonlyMap<number, number>;
  readonly durationMs: number;
}

/**
 * Reads `partitions` of `topic` from their beginning up to their end offsets taken at the start
 * (read_committed: records of aborted transactions are skipped), handing each fetched batch to
 * `onRecords` in offset order per partition. This is the restore read of a changelog: call it
 * after fencing the changelog's writers, so no transaction is left open at the end.
 *
 * kafkajs has no group-less assign(), so the read joins a consumer group of its own (a fresh
 * random id, nothing committed, the group disappears when the read ends); other partitions of
 * the topic are paused as soon as they show up.
 */
export async function readPartitionsToEnd({
  client,
  topic,
  partitions,
  onRecords,
  onProgress,
  maxWaitTimeMs = 100,
  maxBytesPerPartition = 8 * 1024 * 1024,
  timeoutMs = 300_000,
  progressIntervalMs = 5_000,
}: {
  client: KafkaClient;
  topic: string;
  partitions: readonly number[];
  onRecords: (records: readonly KafkaBusRecord[]) => void | Promise<void>;
  /** Called about every progressIntervalMs while reading: records read and offsets still to read. */
  onProgress?: (progress: { records: number; remainingOffsets: number }) => void;
  maxWaitTimeMs?: number;
  maxBytesPerPartition?: number;
  /** Fails (retriable) if the end is not reached by then. */
  timeoutMs?: number;
  progressIntervalMs?: number;
}): Promise<ReadPartitionsResult> {
  const started = Date.now();
  const { kafka, brokers } = client;
  const context = { brokers, principal: client.security.principal, topic };
  const wanted = new Set(partitions);
  const offsets = await withKafkaAdmin({ client, topic }, (admin) =>
    topicEndOffsets({ admin, topic, brokers }),
  );
  const ends = new Map(
    offsets
      .filter((o) => wanted.has(o.partition))
      .map((o) => [o.partition, { low: o.low, end: o.high }]),
  );
  for (const p of partitions) {
    if (!ends.has(p))
      throw new KafkaTransportError(
        `topic '${topic}' has no partition ${p} (it has ${[...ends.keys()].join(', ') || 'none of the requested'}); the changelog must have as many partitions as the events topic`,
        { retriable: false, brokers, topic },
      );
  }
  const endOffsets = new Map([...ends].map(([p, { end }]) => [p, end]));
  const position = new Map([...ends].map(([p, { low }]) => [p, low]));
  const remaining = () =>
    [...ends].reduce((sum, [p, { end }]) => sum + Math.max(0, end - position.get(p)!), 0);
  if (remaining() === 0) return { records: 0, bytes: 0, endOffsets, durationMs: 0 };

  let records = 0;
  let bytes = 0;
  let finish!: (error?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (error?: unknown) => (error === undefined ? resolve() : reject(error));
  });
  const consumer: Consumer = kafka.consumer({
    groupId: `${topic}.restore.${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: maxWaitTimeMs,
    maxBytesPerPartition,
  });
  const advance = (partition: number, next: number) => {
    if (next > (position.get(partition) ?? Infinity)) position.set(partition, next);
    if (remaining() === 0) finish();
  };
  // Batches of only aborted records / transaction markers reach no eachBatch call.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && wanted.has(payload.partition) && payload.lastOffset !== null)
      advance(payload.partition, Number(payload.lastOffset) + 1);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) finish(wrapKafkaError(payload.error, { ...context, action: 'restore' }));
  });
  const progress = onProgress
    ? setInterval(() => onProgress({ records, remainingOffsets: remaining() }), progressIntervalMs)
    : undefined;
  const timer = setTimeout(
    () =>
      finish(
        new KafkaTransportError(
          `reading partitions ${partitions.join(', ')} of '${topic}' to their end did not finish within ${timeoutMs} ms (${remaining()} offsets left); check the broker, or raise the timeout`,
          { retriable: true, brokers, topic },
        ),
      ),
    timeoutMs,
  );
  try {
    await withKafkaErrors({ ...context, action: 'start the restore read' }, async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        // Resolving the batch moves the fetch position on (nothing is committed: autoCommit off).
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          if (!wanted.has(batch.partition)) {
            consumer.pause([{ topic, partitions: [batch.partition] }]);
            return;
          }
          const end = endOffsets.get(batch.partition)!;
          const inRange = batch.messages.filter((m) => Number(m.offset) < end);
          if (inRange.length > 0) {
            const out = inRange.map((message) =>
              fromKafkaMessage({ topic, partition: batch.partition, message }),
            );
            records += out.length;
            for (const r of out) bytes += r.value.byteLength;
            await onRecords(out);
          }
          if (Number(batch.lastOffset()) + 1 >= end)
            consumer.pause([{ topic, partitions: [batch.partition] }]);
          advance(batch.partition, Number(batch.lastOffset()) + 1);
        },
      });
    });
    await done;
  } finally {
    clearTimeout(timer);
    if (progress) clearInterval(progress);
    await consumer.disconnect().catch(() => {});
  }
  return { records, bytes, endOffsets, durationMs: Date.now() - started };
}
