import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { encodeEvent } from '../../../shared/codec/index.js';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { createLogger } from '../../../shared/logging/index.js';
import type { KafkaAdmin, KafkaClient } from '../../../shared/transport/kafka/index.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { startTestWorker } from '../../support/kafka/in-process-worker.js';
import {
  createTestApp,
  foldChangelog,
  produceRecords,
  readTopic,
  readTopicUntil,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('worker-eviction-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

const logger = createLogger({ name: 'worker-eviction-test', level: 'warn' });
const event = (key: string, token: string) => ({
  key,
  value: encodeEvent({ key, token, eos: false }),
});

test(
  'a key idle longer than state.ttlMs is evicted with a tombstone in the changelog, so a restore no longer brings it back',
  { timeout: 120_000 },
  async () => {
    const { app, topics } = await createTestApp({ admin, name: 'worker eviction', partitions: 1 });
    const config = parseConfig(
      {
        app,
        backend: 'cpu',
        model: { cell: 'rnn', hidden: 4, embedding: 2 },
        tbptt: { k1: 2, k2: 2 },
        state: { ttlMs: 60_000 },
      },
      { source: 'worker-eviction-test' },
    );
    // A clock the test moves: the first key's events are seen at t = 0, the second key's an hour later.
    let clockMs = 1_700_000_000_000;
    const worker = await startTestWorker({ config, client, logger, now: () => clockMs });
    try {
      await produceRecords({
        client,
        topic: topics.events,
        records: [event('old', 'a'), event('old', 'b'), event('old', 'c')],
      });
      await readTopicUntil({
        client,
        admin,
        topic: topics.predictions,
        done: (r) => r.length >= 3,
        what: 'the first key’s predictions',
      });
      assert.deepEqual(
        [...foldChangelog(await readTopic({ client, admin, topic: topics.stateChangelog })).keys()],
        ['old'],
      );
      clockMs += 3_600_000;
      await produceRecords({ client, topic: topics.events, records: [event('new', 'x')] });
      await readTopicUntil({
        client,
        admin,
        topic: topics.predictions,
        done: (r) => r.length >= 4,
        what: 'the second key’s prediction',
      });
    } finally {
      await worker.stop();
    }
    const changelog = await readTopic({ client, admin, topic: topics.stateChangelog });
    const last = changelog.filter((r) => r.key === 'old').at(-1);
    assert.ok(last?.tombstone, 'the evicted key’s last changelog record is a tombstone');
    assert.deepEqual([...foldChangelog(changelog).keys()], ['new']);

    // A new worker restores only the live key.
    let restoredKeys = -1;
    const second = await startTestWorker({
      config,
      client,
      logger,
      now: () => clockMs,
      onRestore: (report) => (restoredKeys = report.keys),
    });
    try {
      const deadline = Date.now() + 30_000;
      while (restoredKeys < 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(restoredKeys, 1);
    } finally {
      await second.stop();
    }
  },
);

test(
  'idle keys are evicted on a timer: a quiet partition drops its keys, and a restored key whose TTL has passed goes right after the restore',
  { timeout: 120_000 },
  async () => {
    const { app, topics } = await createTestApp({
      admin,
      name: 'worker idle eviction',
      partitions: 1,
    });
    const ttlMs = 2_000;
    const config = parseConfig(
      {
        app,
        backend: 'cpu',
        model: { cell: 'rnn', hidden: 4, embedding: 2 },
        tbptt: { k1: 2, k2: 2 },
        state: { ttlMs },
      },
      { source: 'worker-eviction-test' },
    );
    const tombstoneOf =
      (key: string) => (records: readonly { key: string; tombstone: boolean }[]) =>
        records.some((r) => r.key === key && r.tombstone);
    const start = (options: { onRestore?: (report: { keys: number }) => void } = {}) =>
      startTestWorker({ config, client, logger, ...options });

    // 1. A key of a partition that then goes quiet: no later event makes the worker look at it.
    const first = await start();
    let kept: { stoppedAtMs: number };
    try {
      const producedAtMs = Date.now(); // the worker sees the event after this
      await produceRecords({ client, topic: topics.events, records: [event('quiet', 'a')] });
      await readTopicUntil({
        client,
        admin,
        topic: topics.predictions,
        done: (r) => r.length >= 1,
        what: 'quiet’s prediction',
      });
      await readTopicUntil({
        client,
        admin,
        topic: topics.stateChangelog,
        done: tombstoneOf('quiet'),
        timeoutMs: 20_000,
        what: 'quiet’s tombstone',
      });
      assert.ok(Date.now() - producedAtMs >= ttlMs, 'not before its TTL');

      // 2. A key whose worker stops before its TTL is over.
      await produceRecords({ client, topic: topics.events, records: [event('kept', 'b')] });
      await readTopicUntil({
        client,
        admin,
        topic: topics.predictions,
        done: (r) => r.length >= 2,
        what: 'kept’s prediction',
      });
    } finally {
      await first.stop();
      kept = { stoppedAtMs: Date.now() };
    }
    assert.ok(
      !tombstoneOf('kept')(await readTopic({ client, admin, topic: topics.stateChangelog })),
    );
    await new Promise((resolve) =>
      setTimeout(resolve, ttlMs + 500 - (Date.now() - kept.stoppedAtMs)),
    );

    // 3. A new worker restores 'kept' with its last-seen time, so its TTL has passed: it is
    //    evicted without any new event (before, a restored key counted as just seen).
    let restoredKeys = -1;
    const second = await start({ onRestore: (report) => (restoredKeys = report.keys) });
    try {
      await readTopicUntil({
        client,
        admin,
        topic: topics.stateChangelog,
        done: tombstoneOf('kept'),
        timeoutMs: 20_000,
        what: 'kept’s tombstone after the restore',
      });
      assert.equal(restoredKeys, 1, 'kept was restored, then evicted');
      assert.deepEqual(
        [...foldChangelog(await readTopic({ client, admin, topic: topics.stateChangelog })).keys()],
        [],
      );
    } finally {
      await second.stop();
    }
  },
);
