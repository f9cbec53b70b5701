import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';

import kafkajs from '../../../shared/transport/kafka/kafkajs.js';

import { ConfigError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createBatchHandoff } from '../../../shared/transport/kafka/batch-handoff.js';
import {
  createKafkaBus,
  createKafkaClient,
  KafkaTransportError,
  parseBrokers,
  pinoLogCreator,
  topicNames,
  wrapKafkaError,
} from '../../../shared/transport/kafka/index.js';

// Unit tests of the Kafka adapter that need no broker.

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return {
    lines,
    destination: {
      write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>),
    },
  };
}

test('topicNames gives the eight docs/design.md §4 topic names of an app and rejects an app id Kafka cannot use', () => {
  assert.deepEqual(topicNames('demo'), {
    events: 'demo.events',
    stateChangelog: 'demo.state-changelog',
    gradients: 'demo.gradients',
    params: 'demo.params',
    decodeRequests: 'demo.decode-requests',
    predictions: 'demo.predictions',
    decodeResults: 'demo.decode-results',
    deadLetter: 'demo.dead-letter',
  });
  assert.throws(
    () => topicNames('my app'),
    (e: unknown) =>
      e instanceof ConfigError && /app = "my app".*fix: letters, digits/.test(e.message),
  );
});

test('broker lists are parsed from a comma-separated string and a bad entry names itself and the fix', () => {
  assert.deepEqual(parseBrokers(' 127.0.0.1:9092, kafka-1.local:19092 '), [
    '127.0.0.1:9092',
    'kafka-1.local:19092',
  ]);
  assert.throws(
    () => parseBrokers('PLAINTEXT://x:1'),
    (e: unknown) =>
      e instanceof ConfigError && /"PLAINTEXT:\/\/x:1" is not host:port/.test(e.message),
  );
  assert.throws(() => parseBrokers(''), ConfigError);
});

test('kafkajs log entries become pino lines at the matching level with kafkajs fields kept', () => {
  const { lines, destination } = capture();
  const logger = createLogger({ name: 'worker', level: 'debug', destination });
  const log = pinoLogCreator(logger)(kafkajs.logLevel.DEBUG);
  const entry = (namespace: string, level: number, message: string, extra: object = {}) =>
    log({
      namespace,
      level,
      label: '',
      log: { timestamp: '2026-01-01T00:00:00Z', message, ...extra },
    });
  entry('Consumer', kafkajs.logLevel.ERROR, 'Crash: boom', { groupId: 'g1' });
  entry('Consumer', kafkajs.logLevel.WARN, 'rebalancing');
  entry('Consumer', kafkajs.logLevel.INFO, 'joined');
  entry('Consumer', kafkajs.logLevel.DEBUG, 'fetch');
  entry('Connection', kafkajs.logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', {
    error: 'This server does not host this topic-partition',
  });
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.kafkajs]),
    [
      [50, 'Crash: boom', 'Consumer'],
      [40, 'rebalancing', 'Consumer'],
      [30, 'joined', 'Consumer'],
      [20, 'fetch', 'Consumer'],
      [20, 'Response Metadata(key: 3, version: 6)', 'Connection'],
    ],
  );
  assert.equal(lines[0]!.groupId, 'g1');
  assert.equal(lines[0]!.component, 'kafkajs');
  assert.equal(lines[0]!.timestamp, undefined, 'pino has its own time');
});

test('kafkajs errors are wrapped with their retriable flag, the topic, the brokers and a fix', () => {
  const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } =
    kafkajs as unknown as Record<string, new (...args: unknown[]) => Error>;
  const unknownTopic = new KafkaJSProtocolError!({
    message: 'This server does not host this topic-partition',
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
    code: 3,
    retriable: true,
  });
  const wrapped = wrapKafkaError(unknownTopic, {
    action: 'send 3 records',
    brokers: ['127.0.0.1:9092'],
    topic: 'demo.events',
  });
  assert.ok(wrapped instanceof KafkaTransportError);
  assert.equal(wrapped.retriable, true);
  assert.equal(wrapped.kafkaErrorType, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(wrapped.topic, 'demo.events');
  assert.equal(wrapped.cause, unknownTopic);
  assert.match(
    wrapped.message,
    /send 3 records failed \(brokers 127\.0\.0\.1:9092, topic 'demo\.events'\)/,
  );
  assert.match(wrapped.message, /fix: create the topics first/);

  const gaveUp = new KafkaJSNumberOfRetriesExceeded!(
    new KafkaJSConnectionError!('Connection error: connect ECONNREFUSED 127.0.0.1:1', {
      broker: '127.0.0.1:1',
    }),
    {
      retryCount: 5,
      retryTime: 1000,
    },
  );
  const down = wrapKafkaError(gaveUp, { action: 'connect the producer', brokers: ['127.0.0.1:1'] });
  assert.equal(down.retriable, false, 'kafkajs already retried');
  assert.match(down.message, /ECONNREFUSED/);
  assert.match(
    down.message,
    /fix: check that a Kafka broker listens at 127\.0\.0\.1:1 \(a local one: npm run kafka:local\)/,
  );

  assert.equal(wrapKafkaError(down, { action: 'x', brokers: [] }), down, 'our errors pass through');
});

test('sending to a port where no broker listens fails with a KafkaTransportError naming the broker and the fix', async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const logger = createLogger({ name: 't', level: 'silent' });
  const client = createKafkaClient({
    clientId: 't',
    brokers: `127.0.0.1:${port}`,
    logger,
    retries: 0,
    connectionTimeoutMs: 500,
  });
  const bus = createKafkaBus({ client, groupId: 'g' });
  await assert.rejects(
    bus
      .producer()
      .send({ topic: 'demo.events', messages: [{ key: 'k', value: Uint8Array.of(1) }] }),
    (error: unknown) => {
      assert.ok(error instanceof KafkaTransportError, String(error));
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(error.message, /npm run kafka:local/);
      return true;
    },
  );
  await bus.disconnect();
});

test('the batch handoff reports a batch processed when the next one is taken, and unprocessed when it ends first', async () => {
  const handoff = createBatchHandoff<number[]>();
  const first = handoff.put([1, 2]);
  assert.deepEqual(await handoff.take(), [1, 2]);
  const second = handoff.put([3]);
  assert.deepEqual(await handoff.take(), [3]);
  assert.equal(await first, true, 'taking the second batch means the first was processed');
  const third = handoff.put([4]);
  handoff.end();
  assert.equal(await second, false, 'the batch in hand when it ended was not finished');
  assert.equal(await third, false);
  assert.equal(await handoff.take(), undefined);
  assert.equal(await handoff.put([5]), false);

  const failing = createBatchHandoff<number[]>();
  const waiting = failing.take();
  failing.end(new Error('consumer crashed'));
  await assert.rejects(waiting, /consumer crashed/);
});
