import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createKafkaBus,
  createTransactionalProducer,
  KafkaTransportError,
  offsetsToCommit,
  waitForTopicLeaders,
  type KafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { collectBatches, withTestKafka } from '../../support/kafka/client.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('kafka-transactions-test', (kafka) => ({ client, admin } = kafka));

async function createTopics(...topics: string[]): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false, // kafkajs' own wait fails on KRaft: waitForTopicLeaders below
    topics: topics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  });
  await waitForTopicLeaders({ admin, topics });
}

async function committedOffset(groupId: string, topic: string): Promise<string | undefined> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return entry?.partitions.find((p) => p.partition === 0)?.offset;
}

const text = (s: string) => new TextEncoder().encode(s);

/**
 * Polls until `read` returns `expected`: commit() returns once the commit is decided, and the broker
 * writes the commit markers (which make records and offsets visible) a moment later.
 */
async function eventually<T>(
  read: () => Promise<T>,
  expected: T,
  message: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let actual = await read();
  while (actual !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    actual = await read();
  }
  assert.equal(actual, expected, message);
}

test('an aborted transaction is invisible to a read_committed consumer; a committed one is visible together with its offsets', async () => {
  const prefix = uniqueTopicPrefix('transactions');
  const [input, output] = [`${prefix}.events`, `${prefix}.predictions`];
  await createTopics(input, output);
  const workerGroup = `${prefix}-worker`;
  const bus = createKafkaBus({ client, groupId: `${prefix}-reader` });
  const producer = createTransactionalProducer({ client, transactionalId: `${prefix}-worker-0` });
  try {
    await bus.producer().send({
      topic: input,
      messages: Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: text(`in-${i}`) })),
    });

    // "Processed" input offsets 0..1, produced outputs, then aborted: nothing of it counts.
    const aborted = await producer.transaction();
    await aborted.send({
      topic: output,
      messages: [
        { key: 'k', value: text('aborted-0') },
        { key: 'k', value: text('aborted-1') },
      ],
    });
    await aborted.sendOffsets({
      consumerGroupId: workerGroup,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: 2 }] }],
    });
    await aborted.abort();
    assert.equal(aborted.isActive(), false);

    // Processed input offsets 0..4 (next to read: 5), committed with its outputs.
    const committed = await producer.transaction();
    await committed.send({
      topic: output,
      messages: [
        { key: 'k', value: text('committed-0') },
        { key: 'k', value: text('committed-1') },
      ],
    });
    // This send was accepted only after the abort completed on the broker (markers written).
    assert.equal(
      await committedOffset(workerGroup, input),
      '-1',
      'the aborted offsets were not committed',
    );
    await committed.sendOffsets({
      consumerGroupId: workerGroup,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: 5 }] }],
    });
    await committed.commit();
    await eventually(
      () => committedOffset(workerGroup, input),
      '5',
      'the offsets were committed with the transaction',
    );

    // The aborted records are in the log (offsets 0, 1 and the abort marker at 2) but not delivered.
    const end = async () => (await admin.fetchTopicOffsets(output))[0]?.high;
    await eventually(end, '6', '2 aborted + marker + 2 committed + marker');
    bus.close(output);
    const seen = (
      await collectBatches(bus.consumer().batches({ topic: output, maxBatchSize: 10 }))
    ).flat() as KafkaBusRecord[];
    assert.deepEqual(
      seen.map((r) => [new TextDecoder().decode(r.value), r.offset]),
      [
        ['committed-0', 3],
        ['committed-1', 4],
      ],
    );
  } finally {
    await producer.disconnect();
    await bus.disconnect();
  }
});

test('a producer fenced by a newer one with the same transactionalId fails with a non-retriable error that says so', async () => {
  const prefix = uniqueTopicPrefix('transactions fenced');
  const output = `${prefix}.predictions`;
  await createTopics(output);
  const transactionalId = `${prefix}-worker-0`;
  const zombie = createTransactionalProducer({ client, transactionalId });
  const successor = createTransactionalProducer({ client, transactionalId });
  try {
    const stale = await zombie.transaction();
    await stale.send({ topic: output, messages: [{ key: 'k', value: text('zombie') }] });
    const fresh = await successor.transaction(); // registers the id again: fences the zombie, aborts its transaction
    await fresh.send({ topic: output, messages: [{ key: 'k', value: text('successor') }] });
    await fresh.commit();

    await assert.rejects(
      (async () => {
        await stale.send({ topic: output, messages: [{ key: 'k', value: text('zombie-2') }] });
        await stale.commit();
      })(),
      (error: unknown) => {
        assert.ok(error instanceof KafkaTransportError, String(error));
        assert.equal(error.retriable, false);
        assert.match(error.message, new RegExp(`transactionalId '${transactionalId}'`));
        assert.match(error.message, /fenced|another producer/);
        return true;
      },
    );
  } finally {
    await zombie.disconnect().catch(() => {});
    await successor.disconnect();
  }
});

test('a worker that commits its input offsets in its transactions consumes each record once and ends after close()', async () => {
  const prefix = uniqueTopicPrefix('transactions worker loop');
  const [input, output] = [`${prefix}.events`, `${prefix}.predictions`];
  await createTopics(input, output);
  const workerGroup = `${prefix}-worker`;
  const bus = createKafkaBus({ client, groupId: workerGroup });
  const producer = createTransactionalProducer({ client, transactionalId: `${prefix}-worker-0` });
  try {
    await bus.producer().send({
      topic: input,
      messages: Array.from({ length: 7 }, (_, i) => ({ key: `k${i % 2}`, value: text(`in-${i}`) })),
    });
    bus.close(input);

    // consume -> produce + offsets in one transaction per batch; the bus itself commits nothing.
    const worker = bus.consumer({ commit: 'caller' });
    let transactions = 0;
    for await (const batch of worker.batches({ topic: input, maxBatchSize: 3 })) {
      const txn = await producer.transaction();
      // Offsets first: right after the previous commit the coordinator may still answer
      // CONCURRENT_TRANSACTIONS, which sendOffsets retries.
      await txn.sendOffsets({
        consumerGroupId: workerGroup,
        topics: offsetsToCommit(batch as KafkaBusRecord[]),
      });
      await txn.send({
        topic: output,
        messages: batch.map((r) => ({
          key: r.key,
          value: text(`out-${new TextDecoder().decode(r.value)}`),
        })),
      });
      await txn.commit();
      transactions += 1;
    }
    assert.equal(transactions, 3, 'batches of 3 + 3 + 1');
    assert.equal(await committedOffset(workerGroup, input), '7');

    const reader = createKafkaBus({ client, groupId: `${prefix}-reader` });
    try {
      reader.close(output);
      const outputs = (
        await collectBatches(reader.consumer().batches({ topic: output, maxBatchSize: 100 }))
      ).flat();
      assert.deepEqual(
        outputs.map((r) => new TextDecoder().decode(r.value)),
        Array.from({ length: 7 }, (_, i) => `out-in-${i}`),
      );
    } finally {
      await reader.disconnect();
    }
  } finally {
    await producer.disconnect();
    await bus.disconnect();
  }
});
