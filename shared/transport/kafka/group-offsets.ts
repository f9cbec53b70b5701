import type { KafkaAdmin } from './admin-session.js';
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

/**
 * Deletes the consumer groups whose id starts with `prefix`, except `keep` (best effort: a group
 * that still has members, e.g. one of a process killed moments ago, stays until a later call).
 * Returns the ids deleted.
 */
export async function deleteGroupsWithPrefix({
  admin,
  prefix,
  keep,
}: {
  admin: KafkaAdmin;
  prefix: string;
  keep?: string;
}): Promise<string[]> {
  const { groups } = await admin.listGroups();
  const stale = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix) && id !== keep);
  if (stale.length === 0) return [];
  const results = await admin
    .deleteGroups(stale)
    .catch(
      (error: { groups?: Array<{ groupId: string; errorCode: number }> }) => error.groups ?? [],
    );
  return results.filter((r) => r.errorCode === 0).map((r) => r.groupId);
}
