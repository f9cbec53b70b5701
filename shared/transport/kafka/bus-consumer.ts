import type { Consumer, EachBatchPayload } from 'kafkajs';

import type { Logger } from '../../logging/index.js';
import { createBatchHandoff, type BatchHandoff } from './batch-handoff.js';
import type { KafkaClient } from './create-kafka-client.js';
import { withKafkaErrors, wrapKafkaError } from './kafka-errors.js';
import { fromKafkaMessage, type KafkaBusRecord } from './kafka-messages.js';
import type { TopicDrain } from './topic-drain.js';

/**
 * Who commits a consumer's offsets. `auto`: the bus, when the next batch is requested
 * (at-least-once). `caller`: never the bus; the caller commits them inside its transaction
 * (`transaction.sendOffsets({ consumerGroupId, topics: offsetsToCommit(records) })`), so input
 * offsets, state changelog and outputs commit together (exactly once).
 */
export type OffsetCommit = 'auto' | 'caller';

/** The kafkajs consumer settings of a bus (createKafkaBus' options of the same names). */
export interface ConsumerSettings {
  readonly maxWaitTimeMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxBytes: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly commitIntervalMs: number;
}

type Batch = ReadonlyArray<KafkaBusRecord>;

/** What the consumers of one KafkaBus share. */
export interface BusConsumerParts {
  readonly client: KafkaClient;
  readonly log: Logger;
  readonly settings: ConsumerSettings;
  readonly drain: TopicDrain;
  /** Consumers of the bus still running (the bus stops them on disconnect). */
  readonly running: Set<{ stop(): Promise<void> }>;
}

/** One consumer's subscription: what `KafkaBusConsumer.batches` was asked for. */
interface Subscription {
  readonly topic: string;
  readonly group: string;
  readonly onAssignment: ((partitions: readonly number[]) => void) | undefined;
  readonly idleAfterMs: (() => number | undefined) | undefined;
  readonly onLag: ((partition: number, offsets: number) => void) | undefined;
}

/**
 * The consumer-group side of a KafkaBus: one read_committed kafkajs consumer in `group` per call,
 * its fetched batches cut into batches of at most `maxBatchSize` and handed to the caller's loop
 * one at a time (resolved and committed once the caller asks for the next). Ends when the caller
 * stops, the consumer crashes for good (thrown), `stop` is called (the bus disconnects), or the
 * topic is closed and `drain` says the group has committed up to its end.
 */
export async function* consumeBatches({
  bus,
  subscription,
  maxBatchSize,
  commit,
}: {
  bus: BusConsumerParts;
  subscription: Subscription;
  maxBatchSize: number;
  commit: OffsetCommit;
}): AsyncGenerator<Batch, void, undefined> {
  const { client, log, settings, drain, running } = bus;
  const { topic, group } = subscription;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1)
    throw new RangeError(`maxBatchSize = ${maxBatchSize}: must be an integer >= 1`);
  const context = {
    brokers: client.brokers,
    principal: client.security.principal,
    topic,
    groupId: group,
  };
  const handoff = createBatchHandoff<Batch>();
  const skipped = new Map<number, { from: number; to: number }>();
  const consumer = groupConsumer({ bus, subscription, handoff, skipped });
  let disconnecting: Promise<void> | undefined;
  const entry = {
    stop: (): Promise<void> => {
      handoff.end();
      disconnecting ??= consumer
        .disconnect()
        .catch((error: unknown) =>
          log.warn({ topic, groupId: group, err: error }, 'Kafka consumer disconnect failed'),
        )
        .finally(() => running.delete(entry));
      return disconnecting;
    },
  };
  running.add(entry);

  try {
    await withKafkaErrors({ ...context, action: 'start consuming' }, async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: commit === 'auto',
        autoCommitInterval: settings.commitIntervalMs,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: handOver({
          handoff,
          maxBatchSize,
          heartbeatIntervalMs: settings.heartbeatIntervalMs,
        }),
      });
    });
    drain
      .untilDrained({ topic, group, skipped, stopped: () => handoff.ended })
      .then(() => handoff.end())
      .catch((error: unknown) => handoff.end(error));
    for (;;) {
      const records = await handoff.take(subscription.idleAfterMs?.());
      if (records === undefined) return;
      yield records ?? [];
    }
  } finally {
    await entry.stop();
  }
}

/**
 * A kafkajs consumer of `group` with the bus' settings, reporting to `handoff` (a crash kafkajs
 * does not restart from ends it), `onAssignment` (every group join) and `skipped` (fetched
 * ranges kafkajs passed over).
 */
function groupConsumer({
  bus: { client, log, settings },
  subscription: { topic, group, onAssignment, onLag },
  handoff,
  skipped,
}: {
  bus: BusConsumerParts;
  subscription: Subscription;
  handoff: BatchHandoff<Batch>;
  skipped: Map<number, { from: number; to: number }>;
}): Consumer {
  const consumer = client.kafka.consumer({
    groupId: group,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    maxBytesPerPartition: settings.maxBytesPerPartition,
    maxBytes: settings.maxBytes,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      log.warn(
        { topic, groupId: group, err: payload.error },
        'Kafka consumer crashed; kafkajs restarts it',
      );
    } else {
      handoff.end(
        wrapKafkaError(payload.error, {
          brokers: client.brokers,
          principal: client.security.principal,
          topic,
          groupId: group,
          action: 'consume',
        }),
      );
    }
  });
  if (onAssignment) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      onAssignment([...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)),
    );
  }
  // Batches of only aborted records / transaction markers reach no eachBatch call.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic) return;
    onLag?.(payload.partition, Math.max(0, Number(payload.offsetLag)));
    if (payload.batchSize !== 0 || payload.firstOffset === null) return;
    skipped.set(payload.partition, {
      from: Number(payload.firstOffset),
      to: Number(payload.lastOffset) + 1,
    });
  });
  return consumer;
}

/**
 * kafkajs' eachBatch: the fetched batch in slices of `maxBatchSize`, each put into `handoff`
 * and resolved (and committed if due) once the caller has processed it. Heartbeats go on while
 * the caller works, so a long batch keeps the group membership.
 */
function handOver({
  handoff,
  maxBatchSize,
  heartbeatIntervalMs,
}: {
  handoff: BatchHandoff<Batch>;
  maxBatchSize: number;
  heartbeatIntervalMs: number;
}): (payload: EachBatchPayload) => Promise<void> {
  return async ({
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
  };
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
