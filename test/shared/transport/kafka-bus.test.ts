import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createKafkaBus,
  waitForTopicLeaders,
  type KafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { collectBatches, withTestKafka } from '../../support/kafka/client.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('kafka-bus-test', (kafka) => ({ client, admin } = kafka));

async function createTopic(topic: string, partitions: number): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false, // kafkajs' own wait fails on KRaft: waitForTopicLeaders below
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
  });
  await waitForTopicLeaders({ admin, topics: [topic] });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

test('the Kafka bus round-trips keyed records in order per partition, in batches of at most maxBatchSize', async () => {
  const prefix = uniqueTopicPrefix('bus round trip');
  const topic = `${prefix}.events`;
  await createTopic(topic, 3);
  const bus = createKafkaBus({ client, groupId: `${prefix}-group` });
  try {
    const keys = ['user-1', 'user-2', 'sensor-7', 'doc-ä', 'k5', 'k6'];
    const perKey = 20;
    const producer = bus.producer();
    // Interleaved sends of several calls, binary values (a zero byte, 0xff) and one tombstone.
    for (let round = 0; round < 4; round++) {
      const messages = [];
      for (let i = round * 5; i < (round + 1) * 5; i++) {
        for (const [k, key] of keys.entries())
          messages.push({
            key,
            value: Uint8Array.of(k, i, 0, 255, ...encoder.encode(`${key}#${i}`)),
          });
      }
      await producer.send({ topic, messages });
    }
    await producer.send({ topic, messages: [{ key: 'user-1', value: null }] });
    bus.close(topic);

    const batches = await collectBatches(bus.consumer().batches({ topic, maxBatchSize: 7 }));
    const records = batches.flat() as KafkaBusRecord[];
    assert.equal(records.length, keys.length * perKey + 1);

    for (const batch of batches) {
      assert.ok(batch.length >= 1 && batch.length <= 7, `batch of ${batch.length}`);
      assert.equal(
        new Set(batch.map((r) => (r as KafkaBusRecord).partition)).size,
        1,
        'a batch holds one partition',
      );
    }
    const byPartition = new Map<number, number[]>();
    for (const r of records)
      byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
    for (const [partition, offsets] of byPartition) {
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => i),
        `partition ${partition}: offsets 0, 1, 2, ... in order`,
      );
    }

    for (const [k, key] of keys.entries()) {
      const mine = records.filter((r) => r.key === key && !r.tombstone);
      assert.equal(
        new Set(mine.map((r) => r.partition)).size,
        1,
        `all records of ${key} are in one partition`,
      );
      assert.deepEqual(
        mine.map((r) => decoder.decode(r.value.subarray(4))),
        Array.from({ length: perKey }, (_, i) => `${key}#${i}`),
        `${key} in production order`,
      );
      assert.deepEqual([...mine[0]!.value.subarray(0, 4)], [k, 0, 0, 255], 'bytes intact');
    }
    const last = records.filter((r) => r.key === 'user-1').at(-1)!;
    assert.equal(last.tombstone, true);
    assert.equal(last.value.length, 0);
    assert.ok(records.every((r) => r.timestampMs > 1_600_000_000_000));
  } finally {
    await bus.disconnect();
  }
});

test('a key lands in the same partition of two topics with equal partition counts (co-partitioning)', async () => {
  const prefix = uniqueTopicPrefix('bus copartition');
  const [a, b] = [`${prefix}.events`, `${prefix}.state-changelog`];
  await createTopic(a, 4);
  await createTopic(b, 4);
  const bus = createKafkaBus({ client, groupId: `${prefix}-group` });
  try {
    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`);
    for (const topic of [a, b]) {
      await bus
        .producer()
        .send({ topic, messages: keys.map((key) => ({ key, value: encoder.encode(key) })) });
      bus.close(topic);
    }
    const partitionOf = async (topic: string) =>
      new Map(
        (await collectBatches(bus.consumer().batches({ topic, maxBatchSize: 100 })))
          .flat()
          .map((r) => [r.key, (r as KafkaBusRecord).partition]),
      );
    const [pa, pb] = [await partitionOf(a), await partitionOf(b)];
    assert.equal(pa.size, keys.length);
    assert.deepEqual(pb, pa);
    assert.ok(new Set(pa.values()).size > 1, 'keys spread over partitions');
  } finally {
    await bus.disconnect();
  }
});

test('a consumer group resumes after the last batch that was processed (a batch is committed when the next is requested)', async () => {
  const prefix = uniqueTopicPrefix('bus resume');
  const topic = `${prefix}.events`;
  await createTopic(topic, 1);
  const group = `${prefix}-group`;
  const bus = createKafkaBus({ client, groupId: group });
  try {
    await bus.producer().send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: Uint8Array.of(i) })),
    });

    // First member: processes batch [0..3], takes batch [4..7], then stops before finishing it.
    const seen: number[][] = [];
    for await (const batch of bus.consumer().batches({ topic, maxBatchSize: 4 })) {
      seen.push(batch.map((r) => r.value[0]!));
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);

    // Second member of the same group: starts again at 4 (the unfinished batch is delivered again).
    bus.close(topic);
    const rest = (await collectBatches(bus.consumer().batches({ topic, maxBatchSize: 4 }))).flat();
    assert.deepEqual(
      rest.map((r) => r.value[0]),
      [4, 5, 6, 7, 8, 9],
    );
  } finally {
    await bus.disconnect();
  }
});

test('a consumer with idleAfterMs yields an empty batch when no record comes in that time, and the records once they come', async () => {
  const prefix = uniqueTopicPrefix('bus idle');
  const topic = `${prefix}.events`;
  await createTopic(topic, 1);
  const bus = createKafkaBus({ client, groupId: `${prefix}-group` });
  try {
    await bus.producer().send({ topic, messages: [{ key: 'k', value: Uint8Array.of(1) }] });
    const seen: Array<{ values: number[]; afterMs: number }> = [];
    let asked = 0;
    let last = performance.now();
    for await (const batch of bus.consumer().batches({
      topic,
      maxBatchSize: 10,
      idleAfterMs: () => (asked++, 300),
    })) {
      const now = performance.now();
      seen.push({ values: batch.map((r) => r.value[0]!), afterMs: now - last });
      last = now;
      if (seen.length === 3)
        await bus.producer().send({ topic, messages: [{ key: 'k', value: Uint8Array.of(2) }] });
      if (batch.length > 0 && batch[0]!.value[0] === 2) break;
    }
    assert.deepEqual(seen[0]!.values, [1], 'the first record');
    const idle = seen.slice(1, -1);
    assert.ok(idle.length >= 2, `${idle.length} empty batches while nothing came`);
    for (const { values, afterMs } of idle) {
      assert.deepEqual(values, []);
      assert.ok(afterMs >= 290, `an empty batch after ${afterMs.toFixed(0)} ms, before 300 ms`);
    }
    assert.deepEqual(seen.at(-1)!.values, [2], 'then the record produced meanwhile');
    assert.ok(asked >= seen.length - 1, 'idleAfterMs is asked before each wait');
  } finally {
    await bus.disconnect();
  }
});
