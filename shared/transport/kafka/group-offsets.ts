import type { KafkaAdmin } from './topics.js';
import { withKafkaErrors } from './kafka-errors.js';

/** One partition's committed position in a consumer group: offset -1 when none is committed. */
export interface CommittedOffset {
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string | null;
}

/** The group's committed offsets of `topic`, one entry per partition (offset -1: none). */
export async function readGroupOffsets({
  admin,
  groupId,
  topic,
  brokers = [],
}: {
  admin: KafkaAdmin;
  groupId: string;
  topic: string;
  brokers?: readonly string[];
}): Promise<CommittedOffset[]> {
  const [entry] = await withKafkaErrors(
    { action: 'fetch committed offsets', brokers, topic, groupId },
    () => admin.fetchOffsets({ groupId, topics: [topic] }),
  );
  return (entry?.partitions ?? [])
    .map(({ partition, offset, metadata }) => ({
      partition,
      offset: Number(offset),
      metadata: metadata ?? null,
    }))
    .sort((a, b) => a.partition - b.partition);
}

/** Per partition of `topic`: the first offset still stored (`low`) and the next to be written (`high`). */
export async function topicEndOffsets({
  admin,
  topic,
  brokers = [],
}: {
  admin: KafkaAdmin;
  topic: string;
  brokers?: readonly string[];
}): Promise<Array<{ partition: number; low: number; high: number }>> {
  const offsets = await withKafkaErrors({ action: 'fetch end offsets', brokers, topic }, () =>
    admin.fetchTopicOffsets(topic),
  );
  return offsets
    .map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }))
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Waits until the group's committed offsets of `topic` equal `expected` (a transactional offset
 * commit becomes readable a moment after commit() returns, once the broker wrote its markers).
 */
export async function waitForGroupOffsets({
  admin,
  groupId,
  topic,
  expected,
  timeoutMs = 15_000,
  pollIntervalMs = 20,
  brokers = [],
}: {
  admin: KafkaAdmin;
  groupId: string;
  topic: string;
  expected: ReadonlyArray<{ partition: number; offset: number }>;
  timeoutMs?: number;
  pollIntervalMs?: number;
  brokers?: readonly string[];
}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = new Map(
      (await readGroupOffsets({ admin, groupId, topic, brokers })).map((c) => [
        c.partition,
        c.offset,
      ]),
    );
    if (expected.every(({ partition, offset }) => committed.get(partition) === offset)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `group ${groupId}: committed offsets of ${topic} are not ${JSON.stringify(expected)} ${timeoutMs} ms after the commit`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}
