import type { OutgoingRecord } from './kafka-messages.js';

/** Anything with the send() of a producer or a transaction. */
export interface RecordSender {
  send({
    topic,
    messages,
  }: {
    topic: string;
    messages: ReadonlyArray<OutgoingRecord>;
  }): Promise<void>;
}

/**
 * Sends records in order in groups of at most `maxBatchBytes` of values (a record above it goes
 * alone). Needed for chunked tensors: kafkajs puts the records of one send() for a partition into
 * one record batch, and the broker rejects a batch larger than `max.message.bytes` (1 MB by
 * default) however small each record is.
 */
export async function sendBounded({
  sender,
  topic,
  messages,
  maxBatchBytes = 950_000,
}: {
  sender: RecordSender;
  topic: string;
  messages: ReadonlyArray<OutgoingRecord>;
  maxBatchBytes?: number;
}): Promise<void> {
  let group: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of messages) {
    const size = (record.value?.length ?? 0) + record.key.length + 64; // + record overhead
    if (group.length > 0 && bytes + size > maxBatchBytes) {
      await sender.send({ topic, messages: group });
      group = [];
      bytes = 0;
    }
    group.push(record);
    bytes += size;
  }
  if (group.length > 0) await sender.send({ topic, messages: group });
}
