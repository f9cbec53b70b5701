import type { Producer, Transaction } from 'kafkajs';

import kafkajs from './kafkajs.js';

import type { KafkaClient } from './create-kafka-client.js';
import { withKafkaErrors, type KafkaErrorContext } from './kafka-errors.js';
import { splitIntoRequests, toKafkaMessages, type OutgoingRecord } from './kafka-messages.js';

const { Partitioners } = kafkajs;

/** Consumed positions to commit with a transaction: `offset` is the NEXT offset to read (last processed + 1). */
export interface TransactionOffsets {
  readonly consumerGroupId: string;
  readonly topics: ReadonlyArray<{
    readonly topic: string;
    readonly partitions: ReadonlyArray<{
      readonly partition: number;
      readonly offset: number | string;
      /** Stored with the offset (Kafka's commit metadata), read back by admin fetchOffsets. */
      readonly metadata?: string;
    }>;
  }>;
}

/**
 * One Kafka transaction: everything sent in it and the offsets given to sendOffsets become visible
 * to read_committed consumers together on commit(), or never (abort()). Call exactly one of
 * commit() / abort(); after that the transaction is no longer active.
 */
export interface KafkaTransaction {
  send({
    topic,
    messages,
  }: {
    topic: string;
    messages: ReadonlyArray<OutgoingRecord>;
  }): Promise<void>;
  /** Sends to several topics in one request (per broker); empty message lists are left out. */
  sendBatch(
    topicMessages: ReadonlyArray<{ topic: string; messages: ReadonlyArray<OutgoingRecord> }>,
  ): Promise<void>;
  /** Commits the consumer group's offsets as part of this transaction (consume → produce exactly once). */
  sendOffsets(offsets: TransactionOffsets): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  /**
   * Begins a transaction (one at a time per producer). The first call registers the
   * transactionalId with the broker, which fences any older producer with the same id and aborts
   * its open transaction: give every worker instance a stable id of its own (e.g.
   * `<app>-worker-<partition>` or `<app>-worker-<pod>`), so a restarted instance fences its zombie.
   */
  transaction(): Promise<KafkaTransaction>;
  /**
   * Connects and registers the transactionalId now (transaction() does it on first use): fences an
   * older producer with the same id and completes or aborts its open transaction, so a read that
   * follows sees that producer's final output.
   */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * A transactional kafkajs producer (idempotent, acks=all, one request in flight, the Java
 * partitioner) behind our interface. Errors are KafkaTransportErrors; a fenced producer
 * (`INVALID_PRODUCER_EPOCH` / `PRODUCER_FENCED`) is not retriable: that instance must stop.
 *
 * Readers of its output topics must be read_committed (kafkajs `readUncommitted: false`, the
 * default, which our KafkaBus consumers use) to see only committed transactions.
 */
export function createTransactionalProducer({
  client,
  transactionalId,
  transactionTimeoutMs = 60_000,
  initialRetryTimeInMs = 20,
}: {
  client: KafkaClient;
  transactionalId: string;
  /**
   * First back-off of a retried request (default 20 ms, kafkajs' own is 300 ms). A transaction
   * begun right after the previous one committed is answered CONCURRENT_TRANSACTIONS until the
   * coordinator has written the commit markers (a few ms); the Java client retries that after
   * 20 ms. With kafkajs' 300 ms, one back-to-back transaction in five waited 300 ms
   * (bench/transaction-cycle.ts). The back-off doubles per retry and more retries are allowed,
   * so a coordinator that is really away is still waited for about as long as before.
   */
  initialRetryTimeInMs?: number;
  /** The broker aborts a transaction left open longer than this (must be <= the broker's transaction.max.timeout.ms, 15 min by default). */
  transactionTimeoutMs?: number;
}): TransactionalProducer {
  const { kafka, brokers } = client;
  const base: KafkaErrorContext = {
    action: '',
    brokers,
    principal: client.security.principal,
    transactionalId,
  };
  let ready: Promise<Producer> | undefined;

  const connected = (): Promise<Producer> => {
    ready ??= withKafkaErrors(
      { ...base, action: 'connect the transactional producer' },
      async () => {
        const producer = kafka.producer({
          transactionalId,
          idempotent: true,
          maxInFlightRequests: 1,
          retry: {
            // 20 ms doubling over 8 retries waits ~10 s in all, as kafkajs' 300 ms over 5 does.
            retries: Math.max(1, client.retries, initialRetryTimeInMs < 300 ? 8 : 0),
            initialRetryTime: initialRetryTimeInMs,
          },
          transactionTimeout: transactionTimeoutMs,
          allowAutoTopicCreation: false,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        await producer.connect();
        return producer;
      },
    );
    ready.catch(() => (ready = undefined));
    return ready;
  };

  const wrapTransaction = (txn: Transaction): KafkaTransaction => ({
    async send({ topic, messages }) {
      if (messages.length === 0) return;
      await sendRequests(txn, [{ topic, messages }], {
        ...base,
        action: `send ${messages.length} records in a transaction`,
        topic,
      });
    },
    async sendBatch(topicMessages) {
      const nonEmpty = topicMessages.filter((t) => t.messages.length > 0);
      if (nonEmpty.length === 0) return;
      const count = nonEmpty.reduce((n, t) => n + t.messages.length, 0);
      await sendRequests(txn, nonEmpty, {
        ...base,
        action: `send ${count} records to ${nonEmpty.map((t) => t.topic).join(', ')} in a transaction`,
      });
    },
    sendOffsets({ consumerGroupId, topics }) {
      const offsets = {
        consumerGroupId,
        topics: topics.map(({ topic, partitions }) => ({
          topic,
          partitions: partitions.map(({ partition, offset, metadata }) => ({
            partition,
            offset: String(offset),
            // kafkajs' types omit it, but its TxnOffsetCommit request encodes it.
            ...(metadata === undefined ? {} : { metadata }),
          })),
        })),
      };
      // kafkajs does not retry AddOffsetsToTxn, which answers CONCURRENT_TRANSACTIONS while the
      // previous transaction's markers are being written (sendOffsets first in a new transaction).
      return withKafkaErrors(
        { ...base, action: 'send offsets in a transaction', groupId: consumerGroupId },
        () => retryTransient(() => txn.sendOffsets(offsets)),
      );
    },
    commit: () => withKafkaErrors({ ...base, action: 'commit a transaction' }, () => txn.commit()),
    abort: () => withKafkaErrors({ ...base, action: 'abort a transaction' }, () => txn.abort()),
    isActive: () => txn.isActive(),
  });

  return {
    transactionalId,
    async transaction() {
      const producer = await connected();
      const txn = await withKafkaErrors({ ...base, action: 'begin a transaction' }, () =>
        producer.transaction(),
      );
      return wrapTransaction(txn);
    },
    async connect() {
      await connected();
    },
    async disconnect() {
      const producer = ready;
      ready = undefined;
      if (producer) await (await producer.catch(() => undefined))?.disconnect();
    },
  };
}

/** Sends in requests below the broker's batch limit (see splitIntoRequests). */
function sendRequests(
  txn: Transaction,
  topicMessages: ReadonlyArray<{ topic: string; messages: ReadonlyArray<OutgoingRecord> }>,
  context: KafkaErrorContext,
): Promise<void> {
  return withKafkaErrors(context, async () => {
    for (const request of splitIntoRequests(topicMessages)) {
      await txn.sendBatch({
        acks: -1,
        topicMessages: request.map(({ topic, messages }) => ({
          topic,
          messages: toKafkaMessages(messages),
        })),
      });
    }
  });
}

const TRANSIENT = new Set([
  'CONCURRENT_TRANSACTIONS',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
]);

/** Retries `call` while it fails with a transient coordinator error (back-off 50 ms .. 1 s, about 15 s in all). */
async function retryTransient<T>(call: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (attempt >= attempts || typeof type !== 'string' || !TRANSIENT.has(type)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** (attempt - 1))));
    }
  }
}
