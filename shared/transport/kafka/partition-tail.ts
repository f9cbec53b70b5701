import { randomUUID } from 'node:crypto';

import type { Consumer, EachBatchPayload } from 'kafkajs';

import type { Logger } from '../../logging/index.js';
import type { KafkaClient } from './create-kafka-client.js';
import { KafkaTransportError, withKafkaErrors, wrapKafkaError } from './kafka-errors.js';
import { fromKafkaMessage, type KafkaBusRecord } from './kafka-messages.js';
import {
  openPartitionOffsetsReader,
  type PartitionOffsets,
  type PartitionOffsetsReader,
} from './partition-offsets.js';

/** Where a newly followed partition starts: its first stored offset, its read_committed end, or given offsets. */
export type TailStart = 'beginning' | 'end' | ReadonlyMap<number, number>;

/**
 * A continuously tailing, read_committed reader of chosen partitions of one topic (what Kafka
 * Streams does for a standby or global store): records of aborted transactions never reach
 * `onRecords`, and positions move past them and past transaction markers.
 */
export interface PartitionTail {
  readonly topic: string;
  /**
   * Starts reading `partitions` at `from` (a followed partition moves there). Resolves, with
   * each one's read_committed end offset (last stable offset) taken at the call, once each has
   * been read up to it — or was unfollowed meanwhile. Rejects (retriable) after `timeoutInMs`.
   */
  follow(
    partitions: readonly number[],
    options: { from: TailStart; timeoutInMs?: number },
  ): Promise<ReadonlyMap<number, number>>;
  /** Stops handing over records of `partitions` (their pending follow() waits resolve). */
  unfollow(partitions: readonly number[]): void;
  /** The followed partitions, ascending. */
  following(): number[];
  /**
   * The next offset to read of a followed partition (every record below it was handed over, or
   * was aborted, a marker or compacted away); undefined when not followed.
   */
  position(partition: number): number | undefined;
  /**
   * Read-your-writes: waits until each position reaches the partition's log end offset taken now
   * (everything written before the call, committed or aborted since), so every transaction that
   * committed before the call has been handed over. Resolves with the positions; rejects with a
   * retriable KafkaTransportError after `timeoutInMs` (typically a transaction left open).
   */
  catchUp(
    partitions: readonly number[],
    options: { timeoutInMs: number },
  ): Promise<Map<number, number>>;
  /** Per followed partition, offsets written but not yet read (log end − position), for a metric. */
  lagOffsets(): Promise<Map<number, number>>;
  /** Leaves the group and disconnects; pending waits reject. */
  stop(): Promise<void>;
}

interface Followed {
  position: number;
  /**
   * Set when a follow moved the position back behind offsets already fetched: until a batch
   * fetched at the new position arrives, a batch of only aborted records or markers may still be
   * one fetched before the seek, and would carry the position past unread records.
   */
  awaitingSeek: number | undefined;
}

interface Waiter {
  readonly targets: ReadonlyMap<number, number>;
  /** Resolved (dropped) or rejected when one of its partitions is unfollowed. */
  readonly onUnfollow: 'drop' | 'reject';
  settle(error?: Error): void;
}

/**
 * Creates a PartitionTail. Nothing connects until the first follow().
 *
 * kafkajs has no group-less assign(): the tail is a consumer in a fresh group of its own (random
 * id, nothing committed; the group is gone once it leaves) that subscribes to the topic, pauses
 * every partition it does not follow and seeks the followed ones; after every (re)join it applies
 * that again, because a join resets kafkajs' positions to the (absent) committed offsets.
 */
export function createPartitionTail({
  client,
  topic,
  onRecords,
  maxWaitTimeInMs = 250,
  maxBytesPerPartition = 8 * 1024 * 1024,
  logger = client.logger,
  onFailure,
}: {
  client: KafkaClient;
  topic: string;
  /** Records of one partition, in offset order; awaited before the partition reads on. */
  onRecords: (records: readonly KafkaBusRecord[]) => void | Promise<void>;
  /** Longest a fetch waits at the broker for new records (also delays a seek behind it). */
  maxWaitTimeInMs?: number;
  maxBytesPerPartition?: number;
  logger?: Logger;
  /** The tail stopped for good (the consumer crashed, or onRecords threw); waits reject with it. */
  onFailure?: (error: Error) => void;
}): PartitionTail {
  const context = { brokers: client.brokers, principal: client.security.principal, topic };
  const offsets: PartitionOffsetsReader = openPartitionOffsetsReader({ client, topic });
  const followed = new Map<number, Followed>();
  /**
   * Per partition, the furthest offset a fetch may have reached: batches seen (followed or not)
   * and seeks. A follow that starts below it may still meet batches fetched before its seek.
   */
  const reachedUpTo = new Map<number, number>();
  const reached = (partition: number, offset: number) =>
    reachedUpTo.set(partition, Math.max(reachedUpTo.get(partition) ?? 0, offset));
  /** The latest follow() call per partition: an unfollow or a later follow supersedes it. */
  const intent = new Map<number, symbol>();
  const waiters = new Set<Waiter>();
  let consumer: Consumer | undefined;
  let started: Promise<Consumer> | undefined;
  let failure: Error | undefined;
  let stopped = false;

  const unavailable = (): Error | undefined =>
    failure ??
    (stopped
      ? new KafkaTransportError(`the tail of '${topic}' was stopped (fix: create a new one)`, {
          retriable: false,
          ...context,
        })
      : undefined);

  const settleReady = () => {
    for (const waiter of waiters) {
      let done = true;
      for (const [partition, target] of waiter.targets) {
        const state = followed.get(partition);
        if (state === undefined) {
          if (waiter.onUnfollow === 'reject') {
            waiter.settle(
              new KafkaTransportError(
                `partition ${partition} of '${topic}' was unfollowed while catching up (fix: follow it again first)`,
                { retriable: false, ...context },
              ),
            );
            done = false;
            break;
          }
        } else if (state.position < target) done = false;
      }
      if (done) waiter.settle();
    }
  };

  const advance = (partition: number, state: Followed, next: number) => {
    if (followed.get(partition) !== state || next <= state.position) return;
    state.position = next;
    settleReady();
  };

  const fail = (error: Error) => {
    if (failure || stopped) return;
    failure = error;
    logger.error({ topic, err: error }, 'partition tail stopped');
    for (const waiter of [...waiters]) waiter.settle(error);
    void consumer?.disconnect().catch(() => {});
    onFailure?.(error);
  };

  /** Pauses what is not followed; seeks and resumes what is (after a join, and on follow). */
  const apply = (c: Consumer, assigned: readonly number[]) => {
    const paused = assigned.filter((p) => !followed.has(p));
    if (paused.length > 0) c.pause([{ topic, partitions: paused }]);
    for (const [partition, state] of followed) {
      c.seek({ topic, partition, offset: String(state.position) });
      c.resume([{ topic, partitions: [partition] }]);
    }
  };

  const eachBatch = async ({ batch, isStale }: EachBatchPayload) => {
    const partition = batch.partition;
    const state = followed.get(partition);
    if (state === undefined) {
      consumer?.pause([{ topic, partitions: [partition] }]);
      return;
    }
    // Fetched before a seek that kafkajs has not applied yet: the next fetch starts at the seek.
    if (isStale()) return;
    state.awaitingSeek = undefined;
    const records = batch.messages
      .filter((m) => Number(m.offset) >= state.position)
      .map((message) => fromKafkaMessage({ topic, partition, message }));
    if (records.length > 0) {
      try {
        await onRecords(records);
      } catch (error) {
        fail(error as Error);
        return;
      }
    }
    advance(partition, state, Number(batch.lastOffset()) + 1);
  };

  const start = async (): Promise<Consumer> => {
    const all = await offsets.partitionIds();
    const c = client.kafka.consumer({
      groupId: `${topic}.tail.${randomUUID()}`,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs,
      maxBytesPerPartition,
    });
    // A batch of only aborted records and markers reaches no eachBatch call: this is where the
    // position moves past it (batchSize counts the records left after filtering).
    c.on(c.events.START_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic) reached(payload.partition, Number(payload.lastOffset) + 1);
    });
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic || payload.batchSize !== 0) return;
      const last = Number(payload.lastOffset);
      const state = followed.get(payload.partition);
      if (state === undefined) return;
      if (state.awaitingSeek !== undefined) {
        const first = payload.firstOffset === null ? last : Number(payload.firstOffset);
        if (first !== state.awaitingSeek) return;
        state.awaitingSeek = undefined;
      }
      advance(payload.partition, state, last + 1);
    });
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      apply(c, payload.memberAssignment[topic] ?? all);
    });
    c.on(c.events.CRASH, ({ payload }) => {
      if (!payload.restart) fail(wrapKafkaError(payload.error, { ...context, action: 'tail' }));
    });
    consumer = c;
    try {
      await withKafkaErrors({ ...context, action: 'start the partition tail' }, async () => {
        await c.connect();
        await c.subscribe({ topics: [topic], fromBeginning: true });
        await c.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch });
      });
    } catch (error) {
      consumer = undefined;
      await c.disconnect().catch(() => {});
      throw error;
    }
    apply(c, all);
    return c;
  };

  const running = async (): Promise<Consumer> => {
    const error = unavailable();
    if (error) throw error;
    started ??= start();
    started.catch(() => (started = undefined));
    return started;
  };

  const waitFor = (
    targets: ReadonlyMap<number, number>,
    {
      timeoutInMs,
      onUnfollow,
      what,
    }: { timeoutInMs: number; onUnfollow: 'drop' | 'reject'; what: string },
  ): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const error = unavailable();
      if (error) return reject(error);
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        targets,
        onUnfollow,
        settle: (e) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(timer);
          if (e) reject(e);
          else resolve();
        },
      };
      waiters.add(waiter);
      if (Number.isFinite(timeoutInMs))
        timer = setTimeout(() => {
          const behind = [...targets]
            .filter(([p, target]) => (followed.get(p)?.position ?? target) < target)
            .map(([p, target]) => `partition ${p} at ${followed.get(p)!.position} of ${target}`);
          waiter.settle(
            new KafkaTransportError(
              `${what} of '${topic}' did not finish within ${timeoutInMs} ms (${behind.join(', ')}); a transaction left open holds the read_committed end back until it commits or aborts (fix: retry, raise the timeout, or check the writers and the broker)`,
              { retriable: true, ...context },
            ),
          );
        }, timeoutInMs);
      settleReady();
    });

  const startOffset = (partition: number, from: TailStart, at: PartitionOffsets): number => {
    if (from === 'beginning') return at.start;
    if (from === 'end') return at.lastStable;
    const offset = from.get(partition);
    if (
      offset === undefined ||
      !Number.isSafeInteger(offset) ||
      offset < at.start ||
      offset > at.logEnd
    )
      throw new KafkaTransportError(
        `start offset ${offset} for partition ${partition} of '${topic}' is not an offset in [${at.start}, ${at.logEnd}] (fix: give every followed partition an offset between its first stored offset and its end)`,
        { retriable: false, ...context },
      );
    return offset;
  };

  return {
    topic,

    async follow(partitions, { from, timeoutInMs = Infinity }) {
      const error = unavailable();
      if (error) throw error;
      const call = Symbol('follow');
      for (const p of partitions) intent.set(p, call);
      const at = await offsets.read(partitions);
      const starts = new Map(partitions.map((p) => [p, startOffset(p, from, at.get(p)!)]));
      const c = await running();
      const live = partitions.filter((p) => intent.get(p) === call);
      for (const partition of live) {
        const position = starts.get(partition)!;
        followed.set(partition, {
          position,
          awaitingSeek: position < (reachedUpTo.get(partition) ?? 0) ? position : undefined,
        });
        reached(partition, position);
        c.seek({ topic, partition, offset: String(position) });
        c.resume([{ topic, partitions: [partition] }]);
      }
      const ends = new Map(partitions.map((p) => [p, at.get(p)!.lastStable]));
      await waitFor(new Map(live.map((p) => [p, ends.get(p)!])), {
        timeoutInMs,
        onUnfollow: 'drop',
        what: `reading partitions ${partitions.join(', ')} to their end`,
      });
      return ends;
    },

    unfollow(partitions) {
      for (const p of partitions) {
        intent.delete(p);
        followed.delete(p);
      }
      if (consumer && partitions.length > 0)
        consumer.pause([{ topic, partitions: [...partitions] }]);
      settleReady();
    },

    following: () => [...followed.keys()].sort((a, b) => a - b),

    position: (partition) => followed.get(partition)?.position,

    async catchUp(partitions, { timeoutInMs }) {
      const error = unavailable();
      if (error) throw error;
      const notFollowed = partitions.filter((p) => !followed.has(p));
      if (notFollowed.length > 0)
        throw new KafkaTransportError(
          `partitions ${notFollowed.join(', ')} of '${topic}' are not followed (fix: follow() them before catching up)`,
          { retriable: false, ...context },
        );
      const at = await offsets.read(partitions);
      await waitFor(new Map(partitions.map((p) => [p, at.get(p)!.logEnd])), {
        timeoutInMs,
        onUnfollow: 'reject',
        what: `catching up with partitions ${partitions.join(', ')}`,
      });
      return new Map(partitions.map((p) => [p, followed.get(p)!.position]));
    },

    async lagOffsets() {
      const partitions = [...followed.keys()];
      if (partitions.length === 0) return new Map();
      const at = await offsets.read(partitions);
      const lag = new Map<number, number>();
      for (const p of partitions) {
        const position = followed.get(p)?.position;
        if (position !== undefined) lag.set(p, Math.max(0, at.get(p)!.logEnd - position));
      }
      return lag;
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      const error = unavailable()!;
      for (const waiter of [...waiters]) waiter.settle(error);
      const c = consumer ?? (await started?.catch(() => undefined));
      await c?.disconnect().catch(() => {});
      await offsets.close();
    },
  };
}
