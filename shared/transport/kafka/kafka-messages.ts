import type { KafkaMessage, Message } from 'kafkajs';

import type { BusRecord } from '../bus.js';

/** A record to produce: a null value is a tombstone (deletes the key from a compacted topic). */
export interface OutgoingRecord {
  readonly key: string;
  readonly value: Uint8Array | null;
  /** Partition to write to; absent: the partitioner's choice for the key (murmur2, as Java). */
  readonly partition?: number | undefined;
}

/** Anything with the send() of a producer or a transaction (sends split below the broker's batch limit). */
export interface RecordSender {
  send({
    topic,
    messages,
  }: {
    topic: string;
    messages: ReadonlyArray<OutgoingRecord>;
  }): Promise<void>;
}

/** A consumed record: the Bus record plus where it came from. */
export interface KafkaBusRecord extends BusRecord<Uint8Array> {
  readonly topic: string;
  readonly partition: number;
  /** The key's bytes as received (`key` is their UTF-8 decoding); absent for a null key. */
  readonly keyBytes?: Uint8Array | undefined;
  /** The value was null (a tombstone); `value` is then empty. */
  readonly tombstone: boolean;
  /** Producer (create-time) timestamp, ms since the epoch. */
  readonly timestampMs: number;
  /**
   * The offset to commit once this record is processed: `offset + 1`, or past the transaction
   * markers and aborted records that follow it in the fetched batch (so a committed position
   * reaches the partition's end).
   */
  readonly nextOffset: number;
}

const EMPTY = new Uint8Array(0);

/** Uint8Array -> Buffer without copying (kafkajs wants Buffers). */
function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value)
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function toKafkaMessages(records: ReadonlyArray<OutgoingRecord>): Message[] {
  return records.map(({ key, value, partition }) => ({
    key,
    value: value === null ? null : asBuffer(value),
    ...(partition === undefined ? {} : { partition }),
  }));
}

/**
 * Most bytes of records sent in one produce request. The broker's message.max.bytes (1 MB by
 * default) limits a whole record batch, and kafkajs puts all records of one send for a partition
 * into one batch: chunked tensor payloads (≤ 900 KB each) must therefore go one or a few per request.
 */
export const MAX_REQUEST_RECORD_BYTES = 960_000;
const RECORD_OVERHEAD_BYTES = 64;

/**
 * Splits sends into requests whose records total at most `maxBytes` (a record larger than that
 * travels alone), keeping the order of records within each topic.
 */
export function splitIntoRequests<
  T extends { topic: string; messages: ReadonlyArray<OutgoingRecord> },
>(
  topicMessages: readonly T[],
  maxBytes = MAX_REQUEST_RECORD_BYTES,
): Array<Array<{ topic: string; messages: OutgoingRecord[] }>> {
  const requests: Array<Array<{ topic: string; messages: OutgoingRecord[] }>> = [];
  let current: Array<{ topic: string; messages: OutgoingRecord[] }> = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const size =
        RECORD_OVERHEAD_BYTES + Buffer.byteLength(message.key) + (message.value?.byteLength ?? 0);
      if (bytes > 0 && bytes + size > maxBytes) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      let entry = current.at(-1);
      if (entry?.topic !== topic) current.push((entry = { topic, messages: [] }));
      entry.messages.push(message);
      bytes += size;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export function fromKafkaMessage({
  topic,
  partition,
  message,
  nextOffset = Number(message.offset) + 1,
}: {
  topic: string;
  partition: number;
  message: KafkaMessage;
  nextOffset?: number;
}): KafkaBusRecord {
  return {
    topic,
    partition,
    key: message.key === null ? '' : message.key.toString('utf8'),
    keyBytes: message.key ?? undefined,
    value: message.value ?? EMPTY,
    tombstone: message.value === null,
    offset: Number(message.offset),
    timestampMs: Number(message.timestamp),
    nextOffset,
  };
}

/**
 * The consumed positions to commit after processing `records` (any topics and partitions, in
 * consumption order): per partition the largest `nextOffset`. The shape of
 * `KafkaTransaction.sendOffsets({ consumerGroupId, topics })`.
 */
export function offsetsToCommit(
  records: Iterable<KafkaBusRecord>,
): Array<{ topic: string; partitions: Array<{ partition: number; offset: number }> }> {
  const byTopic = new Map<string, Map<number, number>>();
  for (const { topic, partition, nextOffset } of records) {
    const partitions = byTopic.get(topic) ?? new Map<number, number>();
    byTopic.set(topic, partitions);
    partitions.set(partition, Math.max(partitions.get(partition) ?? -1, nextOffset));
  }
  return [...byTopic].map(([topic, partitions]) => ({
    topic,
    partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })),
  }));
}
