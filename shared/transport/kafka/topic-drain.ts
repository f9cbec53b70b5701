import { openKafkaAdmin, type KafkaAdmin } from './admin-session.js';
import type { KafkaClient } from './create-kafka-client.js';
import { readGroupOffsets, topicEndOffsets } from './group-offsets.js';
import { lazyConnection } from './lazy-connection.js';

type EndOffsets = ReadonlyArray<{ partition: number; end: number; low: number }>;

/**
 * Offset ranges of a partition kafkajs skipped without handing them out (only aborted records or
 * transaction markers): a committed position at or past `from` counts as `to`.
 */
export type SkippedRanges = ReadonlyMap<number, { from: number; to: number }>;

/** The end-of-topic side of a KafkaBus: which topics are closed, and when a group has drained one. */
export interface TopicDrain {
  /** No more records will be produced to `topic`: its end offsets are taken now. */
  close(topic: string): void;
  /**
   * Resolves once `topic` is closed and `group` has committed up to its end and stayed there for
   * the settle time — or as soon as `stopped()` says the consumer ended anyway.
   */
  untilDrained(options: {
    topic: string;
    group: string;
    skipped: SkippedRanges;
    stopped: () => boolean;
  }): Promise<void>;
  disconnect(): Promise<void>;
}

export function createTopicDrain({
  client,
  drainPollIntervalMs,
  drainSettleMs,
}: {
  client: KafkaClient;
  drainPollIntervalMs: number;
  drainSettleMs: number;
}): TopicDrain {
  const { brokers } = client;
  const admin = lazyConnection<KafkaAdmin>(() => openKafkaAdmin({ client }));
  const closedTopics = new Map<string, Promise<EndOffsets>>();
  const closeWaiters = new Map<string, Array<() => void>>();

  const endOffsets = async (topic: string): Promise<EndOffsets> =>
    (await topicEndOffsets({ admin: await admin.get(), topic, brokers })).map(
      ({ partition, high, low }) => ({ partition, end: high, low }),
    );

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
    skipped: SkippedRanges,
  ): Promise<boolean> => {
    const committed = await readGroupOffsets({
      admin: await admin.get(),
      groupId: group,
      topic,
      brokers,
    });
    const position = new Map(committed.map((p) => [p.partition, p.offset]));
    return target.every(({ partition, end, low }) => {
      let at = position.get(partition) ?? -1;
      const gap = skipped.get(partition);
      if (gap !== undefined && Math.max(at, low) >= gap.from) at = Math.max(at, gap.to);
      return at >= end || (at < 0 && end <= low);
    });
  };

  return {
    close(topic) {
      if (closedTopics.has(topic)) return;
      const offsets = endOffsets(topic);
      offsets.catch(() => {}); // reported by the consumers that wait for it
      closedTopics.set(topic, offsets);
      for (const wake of closeWaiters.get(topic) ?? []) wake();
      closeWaiters.delete(topic);
    },
    async untilDrained({ topic, group, skipped, stopped }) {
      const atClose = await closed(topic);
      let drainedSince: number | undefined;
      while (!stopped()) {
        // The end moves on while commit markers of transactions finished before close() land.
        const target = raiseEnds(atClose, await endOffsets(topic));
        if (await drained(topic, group, target, skipped)) {
          drainedSince ??= Date.now();
          if (Date.now() - drainedSince >= drainSettleMs) return;
        } else {
          drainedSince = undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, drainPollIntervalMs));
      }
    },
    disconnect: () => admin.close(),
  };
}

function raiseEnds(a: EndOffsets, b: EndOffsets): EndOffsets {
  const later = new Map(b.map((p) => [p.partition, p.end]));
  return a.map((p) => ({ ...p, end: Math.max(p.end, later.get(p.partition) ?? p.end) }));
}
