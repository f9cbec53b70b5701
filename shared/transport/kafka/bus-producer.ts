import type { Producer } from 'kafkajs';

import kafkajs from './kafkajs.js';

import type { BusProducer } from '../bus.js';
import type { KafkaClient } from './create-kafka-client.js';
import { withKafkaErrors } from './kafka-errors.js';
import { splitIntoRequests, toKafkaMessages, type RecordSender } from './kafka-messages.js';
import { lazyConnection } from './lazy-connection.js';

const { Partitioners } = kafkajs;

export interface KafkaBusProducer extends BusProducer<Uint8Array> {
  /** Appends records in order (per partition); a null value is a tombstone. Resolves once acknowledged by all in-sync replicas. */
  send: RecordSender['send'];
}

/**
 * The producer side of a KafkaBus: one idempotent producer (acks=all, one request in flight, so
 * order per partition holds across retries; the Java client's murmur2 partitioner), connected on
 * the first send and shared by every producer() of the bus.
 */
export function createBusProducerSide({ client }: { client: KafkaClient }): {
  producer(): KafkaBusProducer;
  disconnect(): Promise<void>;
} {
  const { kafka, brokers } = client;
  const { principal } = client.security;
  const connection = lazyConnection<Producer>(() =>
    withKafkaErrors({ action: 'connect the producer', brokers, principal }, async () => {
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: Math.max(1, client.retries) },
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      return producer;
    }),
  );
  const send: KafkaBusProducer['send'] = async ({ topic, messages }) => {
    if (messages.length === 0) return;
    const producer = await connection.get();
    await withKafkaErrors(
      { action: `send ${messages.length} records`, brokers, principal, topic },
      async () => {
        for (const [request] of splitIntoRequests([{ topic, messages }]))
          await producer.send({ topic, acks: -1, messages: toKafkaMessages(request!.messages) });
      },
    );
  };
  return { producer: () => ({ send }), disconnect: () => connection.close() };
}
