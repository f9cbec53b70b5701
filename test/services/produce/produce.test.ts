import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { decodeDeadLetter } from '../../../shared/codec/dead-letter-codec.js';
import { decodeEvent } from '../../../shared/codec/event-codec.js';
import type { StreamEvent } from '../../../shared/events/index.js';
import {
  KafkaTransportError,
  topicNames,
  type KafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { produceEvents, produceInput } from '../../../services/produce/index.js';
import { hostileJsonLines } from '../../support/hostile-inputs.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { memoryLogger, readTopic, tempDir } from './produce-test-helpers.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('produce-test', (kafka) => ({ client, admin } = kafka));

const createTopics = (app: string, partitions = 3) => ({
  app,
  partitions,
  replicationFactor: 1,
});

/** Events of several keys interleaved, exercising every field of docs/design.md §7. */
function sampleEvents(keys: readonly string[], perKey: number): StreamEvent[] {
  const events: StreamEvent[] = [];
  for (let i = 0; i < perKey; i++) {
    for (const [k, key] of keys.entries()) {
      const event: StreamEvent =
        k % 2 === 0
          ? { key, token: i % 3 === 0 ? 'é' : i, eos: i === perKey - 1 }
          : { key, features: [i, -0.5 * k, 1e-3], label: [i + 0.25], eos: false };
      if (i % 4 === 1) event.ts = 1_700_000_000_000 + i;
      if (k % 2 === 0 && i % 5 === 2) event.label = i % 2 === 0 ? 'spam' : 7;
      events.push(event);
    }
  }
  return events;
}

function byKey(records: readonly KafkaBusRecord[]): Map<string, KafkaBusRecord[]> {
  const map = new Map<string, KafkaBusRecord[]>();
  for (const r of records) map.set(r.key, [...(map.get(r.key) ?? []), r]);
  return map;
}

/** Events per partition as counted from what was consumed. */
function partitionCounts(records: readonly KafkaBusRecord[], partitions: number) {
  const counts: Record<string, number> = {};
  for (let p = 0; p < partitions; p++) counts[String(p)] = 0;
  for (const r of records) counts[String(r.partition)]!++;
  return counts;
}

test('a JSONL file of several keys arrives in <app>.events decoding back equal, each key in one partition and in input order', async () => {
  const app = uniqueTopicPrefix('produce jsonl');
  const keys = ['user-1', 'user-2', 'sensor-7', 'doc-ä', 'k5', 'k6', 'k7', 'k8'];
  const events = sampleEvents(keys, 25);
  const dir = await tempDir('produce');
  const input = join(dir, 'events.jsonl');
  await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');

  const summary = await produceInput({
    client,
    topic: topicNames(app).events,
    createTopics: createTopics(app),
    inputPaths: [input],
    inputFormat: 'jsonl',
    batchSize: 37, // several batches, cut mid-round
  });
  assert.equal(summary.produced, events.length);
  assert.equal(summary.skipped, 0);
  assert.equal(summary.topic, `${app}.events`);
  assert.equal(summary.interrupted, false);

  const records = await readTopic(client, `${app}.events`);
  assert.equal(records.length, events.length);
  for (const [key, mine] of byKey(records)) {
    assert.equal(new Set(mine.map((r) => r.partition)).size, 1, `${key} is in one partition`);
    assert.deepEqual(
      mine.map((r) => decodeEvent(r.value)),
      events.filter((e) => e.key === key),
      `${key}: every event decodes back equal, in input order`,
    );
  }
  assert.deepEqual(summary.partitions, partitionCounts(records, 3), 'summary counts match');
  assert.ok(Object.values(summary.partitions).filter((n) => n > 0).length > 1, 'keys spread');
});

test('text input is keyed by file name and interleaved byte by byte, each file ending with eos', async () => {
  const app = uniqueTopicPrefix('produce text');
  const dir = await tempDir('produce-text');
  const texts: Record<string, string> = {
    'a.txt': 'hello',
    'b.txt': 'ñ!',
    'c.md': 'state of the union',
  };
  await mkdir(join(dir, 'docs'));
  for (const [name, text] of Object.entries(texts)) await writeFile(join(dir, 'docs', name), text);

  const summary = await produceInput({
    client,
    topic: topicNames(app).events,
    createTopics: createTopics(app, 2),
    inputPaths: [join(dir, 'docs')],
    inputFormat: 'text',
  });
  const total = Object.values(texts).reduce((n, t) => n + Buffer.byteLength(t), 0);
  assert.equal(summary.produced, total);

  const records = await readTopic(client, `${app}.events`);
  const perKey = byKey(records);
  assert.deepEqual([...perKey.keys()].sort(), Object.keys(texts).sort());
  for (const [name, text] of Object.entries(texts)) {
    const events = perKey.get(name)!.map((r) => decodeEvent(r.value));
    assert.deepEqual(
      Buffer.from(events.map((e) => e.token as number)).toString('utf8'),
      text,
      `${name}: its bytes in order`,
    );
    assert.deepEqual(
      events.map((e) => e.eos),
      events.map((_, i) => i === events.length - 1),
      `${name}: eos on the last byte only`,
    );
  }
});

/** Produces a JSONL file into a new app's two-partition topics, bad lines to its dead-letter topic. */
function produceWithDeadLetters({
  app,
  input,
  logger,
}: {
  app: string;
  input: string;
  logger: ReturnType<typeof memoryLogger>['logger'];
}) {
  const names = topicNames(app);
  return produceInput({
    client,
    topic: names.events,
    deadLetterTopic: names.deadLetter,
    createTopics: createTopics(app, 2),
    inputPaths: [input],
    inputFormat: 'jsonl',
    logger,
  });
}

test('bad lines are reported with file, line, reason and fix, skipped and counted, and with a dead-letter topic sent there with the raw line', async () => {
  const app = uniqueTopicPrefix('produce bad lines');
  const names = topicNames(app);
  const dir = await tempDir('produce-bad');
  const input = join(dir, 'mixed.jsonl');
  const lines = [
    '{"key": "a", "token": 1}',
    '{"key": "a", "token": ', // line 2: invalid JSON
    '',
    '{"key": "b", "tokn": 3}', // line 4: unknown field (a typo)
    '{"token": 4}', // line 5: no key
    '{"key": "b", "token": 5, "eos": true}',
  ];
  await writeFile(input, lines.join('\n') + '\n');
  const { logger, lines: logLines } = memoryLogger();

  const summary = await produceWithDeadLetters({ app, input, logger });
  assert.equal(summary.produced, 2);
  assert.equal(summary.skipped, 3);
  assert.equal(summary.deadLettered, 3);

  const reports = logLines().filter((l) => String(l.msg).startsWith('skipped bad input'));
  assert.deepEqual(
    reports.map((r) => r.line),
    [2, 4, 5],
  );
  for (const r of reports) {
    assert.equal(r.file, input);
    assert.match(String(r.msg), /line \d+: .+ \(fix: .+\)$/, 'line, reason and fix');
  }
  assert.match(String(reports[1]!.msg), /"tokn".*"token"/, 'the typo and the known field');

  const events = (await readTopic(client, names.events)).map((r) => decodeEvent(r.value));
  assert.deepEqual(events, [
    { key: 'a', token: 1, eos: false },
    { key: 'b', token: 5, eos: true },
  ]);

  const dead = await readTopic(client, names.deadLetter);
  const letters = dead
    .map((r) => ({ kafkaKey: r.key, ...decodeDeadLetter(r.value) }))
    .sort((x, y) => x.offset - y.offset);
  assert.deepEqual(
    letters.map((l) => [l.offset, l.kafkaKey, new TextDecoder().decode(l.originalValue)]),
    [
      [2, '', lines[1]],
      [4, 'b', lines[3]],
      [5, '', lines[4]],
    ],
    'line number, key when readable, the raw line',
  );
  for (const l of letters) {
    assert.equal(l.sourceTopic, `file:${input}`);
    assert.equal(l.partition, -1);
    assert.equal(l.errorType, 'InputError');
    assert.match(l.error, /^line \d+: .+\(fix: /);
  }
});

test('hostile lines are skipped and dead-lettered under the same limits the workers apply, each dead letter small enough to produce', async () => {
  const app = uniqueTopicPrefix('produce hostile');
  const names = topicNames(app);
  const dir = await tempDir('produce-hostile');
  const input = join(dir, 'hostile.jsonl');
  const hostile = hostileJsonLines('k');
  const good: StreamEvent[] = hostile.map((_, i) => ({ key: `k${i % 2}`, token: i, eos: false }));
  const lines = hostile.flatMap(({ bytes }, i) => [Buffer.from(JSON.stringify(good[i])), bytes]);
  await writeFile(input, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
  const { logger } = memoryLogger();

  const summary = await produceWithDeadLetters({ app, input, logger });
  assert.equal(summary.produced, good.length);
  assert.equal(summary.skipped, hostile.length);
  assert.equal(summary.deadLettered, hostile.length);
  const events = (await readTopic(client, names.events)).map((r) => decodeEvent(r.value));
  assert.deepEqual(
    [...events].sort((a, b) => Number(a.token) - Number(b.token)),
    good,
  );
  const letters = (await readTopic(client, names.deadLetter)).map((r) => ({
    kafkaKey: r.key,
    ...decodeDeadLetter(r.value),
  }));
  assert.deepEqual(
    letters.map((l) => l.offset).sort((a, b) => a - b),
    hostile.map((_, i) => 2 * i + 2),
    'one dead letter per hostile line, named by its line number',
  );
  for (const l of letters) {
    assert.ok(Buffer.byteLength(l.kafkaKey) <= 1024);
    assert.ok((l.originalValue?.length ?? 0) <= 1_048_576);
    assert.ok(l.error.length < 1000, l.error.slice(0, 200));
  }
});

test('produceEvents feeds events given in code in order and counts invalid ones as skipped instead of throwing', async () => {
  const app = uniqueTopicPrefix('produce events api');
  const events: StreamEvent[] = [
    { key: 'x', token: 1, eos: false },
    { key: 'x', token: 2, features: [1], eos: false }, // both token and features: invalid
    { key: 'y', features: [0.5, 1.5], eos: true },
    { key: 'x', token: 3, eos: true },
  ];
  async function* stream() {
    yield* events;
  }
  const { logger, lines } = memoryLogger();
  const summary = await produceEvents({
    client,
    topic: topicNames(app).events,
    createTopics: createTopics(app, 1),
    events: stream(),
    logger,
  });
  assert.equal(summary.produced, 3);
  assert.equal(summary.skipped, 1);
  assert.deepEqual(summary.partitions, { '0': 3 });
  assert.ok(
    lines().some((l) => l.line === 2 && /#2: /.test(String(l.msg))),
    'numbered by position',
  );
  const got = (await readTopic(client, `${app}.events`)).map((r) => decodeEvent(r.value));
  assert.deepEqual(got, [events[0], events[2], events[3]]);
});

test('a topic that does not exist fails before anything is sent, saying to use --create-topics or create it', async () => {
  const app = uniqueTopicPrefix('produce missing topic');
  await assert.rejects(
    produceEvents({
      client,
      topic: topicNames(app).events,
      events: [{ key: 'a', token: 1, eos: false }],
    }),
    (error: unknown) => {
      assert.ok(error instanceof KafkaTransportError);
      assert.match(error.message, new RegExp(`'${app}\\.events' does not exist`));
      assert.match(error.message, /--create-topics/);
      return true;
    },
  );
  assert.equal((await admin.listTopics()).includes(`${app}.events`), false, 'nothing created');
});

test('aborting stops reading but every event read is still sent, and the summary says interrupted', async () => {
  const app = uniqueTopicPrefix('produce abort');
  const abort = new AbortController();
  let read = 0;
  async function* endless() {
    for (;;) {
      read++;
      if (read === 1500) abort.abort();
      yield { key: `k${read % 7}`, token: read % 256, eos: false } satisfies StreamEvent;
    }
  }
  const summary = await produceEvents({
    client,
    topic: topicNames(app).events,
    createTopics: createTopics(app, 2),
    events: endless(),
    batchSize: 100,
    signal: abort.signal,
  });
  assert.equal(summary.interrupted, true);
  assert.equal(summary.produced, 1500);
  assert.equal(read, 1500, 'no event read after the abort');
  assert.equal((await readTopic(client, `${app}.events`)).length, 1500);
});

test('ratePerSecond throttles production to that average rate', async () => {
  const app = uniqueTopicPrefix('produce rate');
  const events = Array.from({ length: 300 }, (_, i): StreamEvent => ({
    key: 'r',
    token: i % 256,
    eos: false,
  }));
  const summary = await produceEvents({
    client,
    topic: topicNames(app).events,
    createTopics: createTopics(app, 1),
    events,
    ratePerSecond: 1000,
  });
  assert.equal(summary.produced, 300);
  assert.ok(summary.seconds >= 0.28, `300 events at 1000/s took ${summary.seconds} s`);
  assert.ok(summary.eventsPerSecond <= 1100, `${summary.eventsPerSecond} events/s`);
});
