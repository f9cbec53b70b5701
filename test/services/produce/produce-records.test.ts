import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeEvent } from '../../../shared/codec/event-codec.js';
import { InputError, RnnstreamError } from '../../../shared/errors/index.js';
import type { StreamEvent } from '../../../shared/events/index.js';
import {
  KafkaTransportError,
  type KafkaBusProducer,
  type OutgoingRecord,
} from '../../../shared/transport/kafka/index.js';
import { produceRecords } from '../../../services/produce/index.js';

/** A producer that acknowledges after a delay, recording every send and how many overlapped. */
function fakeProducer({ failOnSend }: { failOnSend?: number } = {}) {
  const sends: Array<{ topic: string; messages: OutgoingRecord[] }> = [];
  let open = 0;
  let maxOpen = 0;
  const producer: KafkaBusProducer = {
    async send({ topic, messages }) {
      open++;
      maxOpen = Math.max(maxOpen, open);
      try {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (sends.length + 1 === failOnSend) {
          throw new KafkaTransportError('Kafka: send 10 records failed (brokers b:1): boom', {
            brokers: ['b:1'],
          });
        }
        sends.push({ topic, messages: [...messages] });
      } finally {
        open--;
      }
    },
  };
  return { producer, sends, maxOpen: () => maxOpen };
}

const events = (n: number): StreamEvent[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i % 3}`, token: i, eos: false }));

test('batches go out one send at a time, in input order, at most batchSize records each', async () => {
  const { producer, sends, maxOpen } = fakeProducer();
  const input = events(95);
  const summary = await produceRecords({
    producer,
    topic: 't',
    partitions: 2,
    records: input.map((event) => ({ event })),
    batchSize: 10,
  });
  assert.equal(maxOpen(), 1, 'never two sends in flight');
  assert.deepEqual(
    sends.map((s) => s.messages.length),
    [10, 10, 10, 10, 10, 10, 10, 10, 10, 5],
  );
  const sent = sends.flatMap((s) => s.messages);
  assert.deepEqual(
    sent.map((m) => decodeEvent(m.value!)),
    input,
  );
  assert.deepEqual(
    sent.map((m) => m.key),
    input.map((e) => e.key),
  );
  assert.equal(summary.produced, 95);
  assert.equal(summary.partitions['0']! + summary.partitions['1']!, 95);
});

test('a send that fails after retries stops the run with the number of events acknowledged before it', async () => {
  const { producer } = fakeProducer({ failOnSend: 3 });
  await assert.rejects(
    produceRecords({
      producer,
      topic: 't',
      partitions: 1,
      records: events(100).map((event) => ({ event })),
      batchSize: 10,
    }),
    (error: unknown) => {
      assert.ok(error instanceof RnnstreamError);
      assert.match(error.message, /^produce stopped after 20 acknowledged events .*: Kafka: send/);
      assert.ok(error.cause instanceof KafkaTransportError);
      return true;
    },
  );
});

test('a batch size or rate that is not positive is refused before anything is sent', async () => {
  const { producer, sends } = fakeProducer();
  const records = events(3).map((event) => ({ event }));
  await assert.rejects(
    produceRecords({ producer, topic: 't', partitions: 1, records, batchSize: 0 }),
    /batchSize = 0/,
  );
  await assert.rejects(
    produceRecords({ producer, topic: 't', partitions: 1, records, ratePerSecond: -1 }),
    /ratePerSecond = -1/,
  );
  assert.equal(sends.length, 0);
});

test('bad records are dead-lettered in batches as they are read, not held until the end', async () => {
  const { producer, sends } = fakeProducer();
  const bad = Array.from({ length: 25 }, (_, i) => ({
    error: new InputError({ line: i + 1, reason: 'invalid JSON', fix: 'write JSON' }),
    raw: `{oops ${i}`,
    line: i + 1,
    source: 'in.jsonl',
  }));
  const summary = await produceRecords({
    producer,
    topic: 't',
    partitions: 1,
    records: bad,
    batchSize: 10,
    deadLetterTopic: 't.dead-letter',
  });
  assert.deepEqual(
    sends.map((s) => [s.topic, s.messages.length]),
    [
      ['t.dead-letter', 10],
      ['t.dead-letter', 10],
      ['t.dead-letter', 5],
    ],
  );
  assert.deepEqual([summary.produced, summary.skipped, summary.deadLettered], [0, 25, 25]);
});
