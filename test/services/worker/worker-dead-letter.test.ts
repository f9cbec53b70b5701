import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';

import { decodeDeadLetter, encodeEvent } from '../../../shared/codec/index.js';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createMetricsRegistry } from '../../../shared/metrics/index.js';
import { createWorkerMetrics } from '../../../shared/metrics/worker-metrics.js';
import type {
  KafkaAdmin,
  KafkaClient,
  OutgoingRecord,
} from '../../../shared/transport/kafka/index.js';
import { startWorker } from '../../../services/worker/run-worker.js';
import { hostileJsonLines } from '../../support/hostile-inputs.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { startTestWorker } from '../../support/kafka/in-process-worker.js';
import {
  createTestApp,
  predictionsOf,
  produceRecords,
  readTopic,
  readTopicUntil,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('worker-dead-letter-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

const logger = createLogger({ name: 'worker-dead-letter-test', level: 'warn' });
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The first `count` dead letters of a topic, decoded, with their Kafka keys. */
async function readDeadLetters(topic: string, count: number) {
  const records = await readTopicUntil({
    client,
    admin,
    topic,
    done: (r) => r.length >= count,
    what: `${count} dead letters`,
  });
  return records.map((r) => ({ key: r.key, letter: decodeDeadLetter(r.value) }));
}

function tagConfigJson(app: string) {
  return {
    app,
    backend: 'cpu',
    task: { type: 'tag', labels: ['vowel', 'consonant'] },
    model: { cell: 'gru', hidden: 8, embedding: 4 },
    tbptt: { k1: 4, k2: 4 },
  };
}

function tagConfig(app: string) {
  return parseConfig(tagConfigJson(app), { source: 'worker-dead-letter-test' });
}

test(
  'poison messages (bad protobuf, bad JSON, no key, a key that is not the event’s, an unknown label) go to the dead-letter topic with their reasons while the rest of the partition flows',
  { timeout: 120_000 },
  async () => {
    const { app, topics } = await createTestApp({
      admin,
      name: 'worker dead letter',
      partitions: 1,
    });
    const good = (i: number): OutgoingRecord => {
      const token = 'abcde'[i % 5]!;
      return {
        key: 'word',
        value: encodeEvent({
          key: 'word',
          token,
          label: 'ae'.includes(token) ? 'vowel' : 'consonant',
          eos: false,
        }),
      };
    };
    const poison: Array<{ record: OutgoingRecord; reason: RegExp }> = [
      {
        record: { key: 'word', value: Uint8Array.of(0xff, 0xff, 0xff, 0x01) },
        reason: /not a valid Event protobuf/,
      },
      {
        record: { key: 'word', value: utf8('{"key": "word", "token": ') },
        reason: /invalid JSON/,
      },
      { record: { key: 'word', value: utf8('{"token": "a", "label": "vowel"}') }, reason: /key/ },
      {
        record: { key: '', value: encodeEvent({ key: 'word', token: 'a', eos: false }) },
        reason: /has no key/,
      },
      {
        record: { key: 'word', value: encodeEvent({ key: 'other', token: 'a', eos: false }) },
        reason: /differs from the event's key/,
      },
      {
        record: { key: 'word', value: utf8('{"key": "word", "token": "b", "label": "adjective"}') },
        reason: /label "adjective" is not one of the declared task.labels/,
      },
    ];
    // Valid events before, between and after the poison ones, all in the one partition.
    const records: OutgoingRecord[] = [];
    let valid = 0;
    for (const { record } of poison) {
      records.push(good(valid++), good(valid++), record);
    }
    records.push(good(valid++), good(valid++));
    // A JSON event value is a valid event too.
    records.push({ key: 'word', value: utf8('{"key": "word", "token": "e", "label": "vowel"}') });
    valid++;
    await produceRecords({ client, topic: topics.events, records });

    const registry = createMetricsRegistry({ defaultMetrics: false });
    const worker = await startTestWorker({
      metrics: createWorkerMetrics(registry),
      config: tagConfig(app),
      client,
      logger,
      maxBatchSize: 5,
    });
    try {
      const predictions = predictionsOf(
        await readTopicUntil({
          client,
          admin,
          topic: topics.predictions,
          done: (r) => r.length >= valid,
          what: `${valid} predictions`,
        }),
      );
      assert.equal(predictions.length, valid, 'one prediction per valid event');
      assert.ok(predictions.every((p) => p.key === 'word' && p.task === 'tag'));
      const deadLetters = await readDeadLetters(topics.deadLetter, poison.length);
      assert.equal(deadLetters.length, poison.length);
      const events = await readTopic({ client, admin, topic: topics.events });
      deadLetters.forEach(({ letter }, i) => {
        const { record, reason } = poison[i]!;
        assert.match(letter.error, reason, `dead letter ${i}: ${letter.error}`);
        assert.equal(letter.errorType, 'InputError');
        assert.equal(letter.sourceTopic, topics.events);
        assert.equal(letter.partition, 0);
        assert.deepEqual(
          new Uint8Array(letter.originalValue!),
          new Uint8Array(record.value!),
          `dead letter ${i} keeps the original bytes`,
        );
        assert.deepEqual(
          new Uint8Array(events[letter.offset]!.value),
          new Uint8Array(record.value!),
          `dead letter ${i} names its offset`,
        );
      });
      // The predictions cover exactly the offsets that are not dead letters.
      const dead = new Set(deadLetters.map(({ letter }) => letter.offset));
      assert.deepEqual(
        predictions.map((p) => p.index),
        events.map((e) => e.offset).filter((o) => !dead.has(o)),
      );
    } finally {
      const summary = await worker.stop();
      assert.equal(summary.deadLetters, poison.length);
      const metrics = await registry.getMetricsAsJSON();
      const value = (name: string) => metrics.find((m) => m.name === name)?.values[0]?.value;
      assert.equal(value('rnnstream_worker_dead_letters_total'), poison.length);
      assert.equal(value('rnnstream_worker_events_total'), valid);
      assert.equal(value('rnnstream_worker_owned_partitions'), 1);
    }
  },
);

test(
  'hostile messages of every kind (deep nesting, huge keys and strings, invalid UTF-8, junk and truncated protobuf, out-of-range numbers) each get one dead letter while the worker stays up and every good event gets one prediction',
  { timeout: 180_000 },
  async () => {
    const { app, topics } = await createTestApp({ admin, name: 'worker hostile', partitions: 2 });
    const good = (i: number): OutgoingRecord => {
      const key = `word-${i % 3}`;
      return { key, value: encodeEvent({ key, token: 'abcde'[i % 5]!, eos: i % 7 === 6 }) };
    };
    const key = 'word-0';
    const valid = encodeEvent({ key, token: 'a', label: 'vowel', eos: false });
    const bigKey = 'K'.repeat(200_000);
    const hostile: OutgoingRecord[] = [
      // JSON lines a user might send, up to what the broker takes (1 MB).
      ...hostileJsonLines(key)
        .filter(({ bytes }) => bytes.length < 900_000)
        .map(({ bytes }) => ({ key, value: new Uint8Array(bytes) })),
      { key: bigKey, value: utf8(JSON.stringify({ key: bigKey, token: 'a' })) },
      { key, value: utf8(`{"key": "${key}", "token": "a"}${' '.repeat(70_000)}`) },
      { key, value: Uint8Array.from(randomBytes(64)) },
      { key, value: valid.subarray(0, valid.length - 3) },
      { key, value: Uint8Array.of(0x0a, 2, 0xc3, 0x28, 0x18, 1) },
      { key, value: Uint8Array.of(0x0a, 1, 0x61, ...Array(50_000).fill([0xa3, 0x01]).flat()) },
      { key, value: Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61) },
      { key, value: null },
    ];
    const records: OutgoingRecord[] = [];
    let goodCount = 0;
    for (const record of hostile) records.push(good(goodCount++), record, good(goodCount++));
    await produceRecords({ client, topic: topics.events, records });

    const config = parseConfig(
      { ...tagConfigJson(app), limits: { maxEventBytes: 65_536 } },
      { source: 'worker-dead-letter-test' },
    );
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const worker = await startTestWorker({
      metrics: createWorkerMetrics(registry),
      config,
      client,
      logger,
      training: true,
      // No paramserver here: train on the seeded initial parameters right away.
      paramsWaitMs: 500,
      maxBatchSize: 8,
    });
    try {
      const predictions = predictionsOf(
        await readTopicUntil({
          client,
          admin,
          topic: topics.predictions,
          done: (r) => r.length >= goodCount,
          what: `${goodCount} predictions`,
        }),
      );
      const deadLetters = await readDeadLetters(topics.deadLetter, hostile.length);
      const events = await readTopic({ client, admin, topic: topics.events });
      const dead = new Set(deadLetters.map(({ letter }) => `${letter.partition}:${letter.offset}`));
      assert.equal(dead.size, hostile.length, 'exactly one dead letter per hostile message');
      assert.equal(predictions.length, goodCount, 'exactly one prediction per good event');
      const predicted = new Set(predictions.map((p) => `${p.partition}:${p.index}`));
      assert.equal(predicted.size, goodCount);
      for (const e of events) {
        const at = `${e.partition}:${e.offset}`;
        assert.ok(
          predicted.has(at) !== dead.has(at),
          `offset ${at} has a prediction or a dead letter`,
        );
      }
      for (const { key: deadKey, letter } of deadLetters) {
        assert.equal(letter.errorType, 'InputError', letter.error);
        assert.ok(
          letter.error.length < 1000,
          `an abbreviated reason: ${letter.error.slice(0, 200)}`,
        );
        assert.ok(Buffer.byteLength(deadKey) <= 1024, 'the dead letter key is within maxKeyBytes');
        assert.ok((letter.originalKey?.length ?? 0) <= 1024);
      }
      const reasons = deadLetters.map(({ letter }) => letter.error).join('\n');
      for (const reason of [
        /maxJsonDepth/,
        /the message key is 200000 bytes, over limits\.maxKeyBytes/,
        /the message value is 70\d+ bytes, over limits\.maxEventBytes = 65536/,
        /not valid UTF-8/,
        /not a valid Event protobuf/,
        /float32/,
        /lone UTF-16 surrogate/,
        /the message value is null/,
      ])
        assert.match(reasons, reason);
      assert.equal(
        worker.partitions().length,
        2,
        'the worker is still up and owns both partitions',
      );
    } finally {
      const summary = await worker.stop();
      assert.equal(summary.deadLetters, hostile.length);
      assert.equal(summary.events, goodCount);
    }
  },
);

test('a tag or classify worker without declared task.labels is refused at start-up, naming the fix', async () => {
  const config = parseConfig(
    { app: uniqueTopicPrefix('worker labels'), task: { type: 'classify' } },
    { source: 'test' },
  );
  await assert.rejects(
    startWorker({ config, client, logger }),
    (error: unknown) =>
      error instanceof ConfigError &&
      /task\.labels/.test(error.message) &&
      /fix: list the labels/.test(error.message),
  );
});
