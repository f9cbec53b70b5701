import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createPartitionTail,
  createTopics,
  createTransactionalProducer,
  KafkaTransportError,
  topicEndOffsets,
  waitForTopicLeaders,
  type KafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
  type OutgoingRecord,
  type PartitionTail,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { produceRecords } from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('partition-tail-test', (kafka) => ({ client, admin } = kafka));

async function newTopic(name: string, partitions: number): Promise<string> {
  const topic = `${uniqueTopicPrefix('partition-tail')}.${name}`;
  await createTopics({
    admin,
    brokers: client.brokers,
    topics: [{ topic, partitions, replicationFactor: 1 }],
  });
  await waitForTopicLeaders({ admin, topics: [topic] });
  return topic;
}

const text = (s: string) => new TextEncoder().encode(s);
const record = (key: string, partition: number): OutgoingRecord => ({
  key,
  value: text(key),
  partition,
});

/** A tail that collects what it hands over; records of one call must be one partition's, in offset order. */
function collectingTail(topic: string): { tail: PartitionTail; seen: KafkaBusRecord[] } {
  const seen: KafkaBusRecord[] = [];
  const tail = createPartitionTail({
    client,
    topic,
    maxWaitTimeInMs: 100,
    onRecords: (records) => {
      assert.equal(new Set(records.map((r) => r.partition)).size, 1, 'one partition per call');
      for (let i = 1; i < records.length; i++)
        assert.ok(records[i]!.offset > records[i - 1]!.offset, 'offset order');
      seen.push(...records);
    },
  });
  return { tail, seen };
}

const keysOf = (records: readonly KafkaBusRecord[], partition?: number) =>
  records.filter((r) => partition === undefined || r.partition === partition).map((r) => r.key);

async function logEnd(topic: string, partition: number): Promise<number> {
  return (await topicEndOffsets({ admin, topic })).find((o) => o.partition === partition)!.high;
}

test('a tail follows only the chosen partitions, from the beginning, from the end or from given offsets, and keeps reading new records', async () => {
  const topic = await newTopic('follow', 3);
  await produceRecords({
    client,
    topic,
    records: [0, 1, 2].flatMap((p) => [0, 1, 2].map((i) => record(`p${p}-old${i}`, p))),
  });

  const fromBeginning = collectingTail(topic);
  const fromEnd = collectingTail(topic);
  const fromOffset = collectingTail(topic);
  try {
    const ends = await fromBeginning.tail.follow([0, 2], { from: 'beginning' });
    assert.deepEqual(
      [...ends],
      [
        [0, 3],
        [2, 3],
      ],
    );
    assert.deepEqual(keysOf(fromBeginning.seen, 0), ['p0-old0', 'p0-old1', 'p0-old2']);
    assert.deepEqual(keysOf(fromBeginning.seen, 2), ['p2-old0', 'p2-old1', 'p2-old2']);
    assert.deepEqual(keysOf(fromBeginning.seen, 1), [], 'partition 1 is not followed');
    assert.equal(fromBeginning.tail.position(0), 3);
    assert.equal(fromBeginning.tail.position(1), undefined);
    assert.deepEqual(fromBeginning.tail.following(), [0, 2]);

    await fromEnd.tail.follow([1], { from: 'end' });
    assert.deepEqual(fromEnd.seen, [], 'nothing before the end');
    await fromOffset.tail.follow([2], { from: new Map([[2, 1]]) });
    assert.deepEqual(keysOf(fromOffset.seen), ['p2-old1', 'p2-old2']);

    await produceRecords({
      client,
      topic,
      records: [0, 1, 2].map((p) => record(`p${p}-new`, p)),
    });
    assert.deepEqual(
      [...(await fromBeginning.tail.catchUp([0, 2], { timeoutInMs: 10_000 }))],
      [
        [0, 4],
        [2, 4],
      ],
    );
    assert.deepEqual(keysOf(fromBeginning.seen, 0).at(-1), 'p0-new');
    assert.deepEqual(keysOf(fromBeginning.seen, 2).at(-1), 'p2-new');
    assert.deepEqual(keysOf(fromBeginning.seen, 1), []);
    await fromEnd.tail.catchUp([1], { timeoutInMs: 10_000 });
    assert.deepEqual(keysOf(fromEnd.seen), ['p1-new']);
    await fromOffset.tail.catchUp([2], { timeoutInMs: 10_000 });
    assert.deepEqual(keysOf(fromOffset.seen), ['p2-old1', 'p2-old2', 'p2-new']);
    assert.deepEqual(
      [...(await fromBeginning.tail.lagOffsets())],
      [
        [0, 0],
        [2, 0],
      ],
    );

    // Unfollowed, a partition hands over nothing more; followed again it starts where it is told.
    fromBeginning.tail.unfollow([2]);
    await produceRecords({
      client,
      topic,
      records: [record('p2-after', 2), record('p0-after', 0)],
    });
    await fromBeginning.tail.catchUp([0], { timeoutInMs: 10_000 });
    assert.deepEqual(keysOf(fromBeginning.seen, 2).at(-1), 'p2-new');
    await assert.rejects(fromBeginning.tail.catchUp([2], { timeoutInMs: 1_000 }), {
      name: 'KafkaTransportError',
      retriable: false,
      message: /not followed/,
    });
    const before = fromBeginning.seen.length;
    await fromBeginning.tail.follow([2], { from: 'beginning' });
    assert.deepEqual(keysOf(fromBeginning.seen.slice(before)), [
      'p2-old0',
      'p2-old1',
      'p2-old2',
      'p2-new',
      'p2-after',
    ]);
    await assert.rejects(fromBeginning.tail.follow([7], { from: 'end' }), {
      retriable: false,
      message: /has no partition 7/,
    });
  } finally {
    await Promise.all([fromBeginning.tail.stop(), fromEnd.tail.stop(), fromOffset.tail.stop()]);
  }
});

test('a tail never hands over records of aborted transactions, and its position moves past them and past the transaction markers', async () => {
  const topic = await newTopic('aborted', 1);
  const producer = createTransactionalProducer({ client, transactionalId: `${topic}.writer` });
  const write = async (keys: string[], outcome: 'commit' | 'abort') => {
    const txn = await producer.transaction();
    await txn.send({ topic, messages: keys.map((k) => record(k, 0)) });
    await (outcome === 'commit' ? txn.commit() : txn.abort());
  };
  const { tail, seen } = collectingTail(topic);
  try {
    await write(['a', 'b'], 'commit'); // offsets 0, 1; marker 2
    await write(['x', 'y'], 'abort'); // 3, 4; marker 5
    await write(['c'], 'commit'); // 6; marker 7
    await tail.follow([0], { from: 'beginning' });
    await tail.catchUp([0], { timeoutInMs: 10_000 });
    assert.deepEqual(keysOf(seen), ['a', 'b', 'c']);
    assert.deepEqual(
      seen.map((r) => r.offset),
      [0, 1, 6],
    );
    assert.equal(tail.position(0), 8, 'past the last commit marker');

    // Only an aborted transaction after the position: nothing is handed over, the position still moves.
    await write(['z'], 'abort'); // 8; marker 9
    assert.equal(await logEnd(topic, 0), 10);
    assert.deepEqual([...(await tail.catchUp([0], { timeoutInMs: 10_000 }))], [[0, 10]]);
    assert.deepEqual(keysOf(seen), ['a', 'b', 'c']);

    // A tail started on a partition that ends in an aborted transaction reaches its end too.
    const second = collectingTail(topic);
    try {
      await second.tail.follow([0], { from: new Map([[0, 3]]) });
      await second.tail.catchUp([0], { timeoutInMs: 10_000 });
      assert.deepEqual(keysOf(second.seen), ['c']);
      assert.equal(second.tail.position(0), 10);
    } finally {
      await second.tail.stop();
    }
  } finally {
    await tail.stop();
    await producer.disconnect();
  }
});

test('catchUp resolves right after a transaction commits, and times out with a retriable error while a transaction stays open', async () => {
  const topic = await newTopic('catch-up', 2);
  const producer = createTransactionalProducer({ client, transactionalId: `${topic}.writer` });
  const { tail, seen } = collectingTail(topic);
  try {
    await tail.follow([0, 1], { from: 'end' });
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [record('open-0', 0), record('open-1', 1)] });

    const started = Date.now();
    await assert.rejects(tail.catchUp([0, 1], { timeoutInMs: 1_500 }), (error: unknown) => {
      assert.ok(error instanceof KafkaTransportError);
      assert.equal(error.retriable, true);
      assert.match(
        error.message,
        /did not finish within 1500 ms \(partition 0 at 0 of 1, partition 1 at 0 of 1\)/,
      );
      assert.match(error.message, /transaction left open/);
      return true;
    });
    assert.ok(Date.now() - started >= 1_500);
    assert.deepEqual(seen, [], 'nothing of the open transaction is handed over');

    // Called while the transaction is open, catchUp waits for it and resolves once it commits.
    const caughtUp = tail.catchUp([0, 1], { timeoutInMs: 15_000 });
    let resolved = false;
    void caughtUp.then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(resolved, false, 'still waiting while the transaction is open');
    await txn.commit();
    const positions = await caughtUp;
    assert.deepEqual(
      [...positions],
      [
        [0, 2],
        [1, 2],
      ],
    );
    assert.deepEqual(keysOf(seen).sort(), ['open-0', 'open-1']);
  } finally {
    await tail.stop();
    await producer.disconnect();
  }
});
