/**
 * A worker running a bidirectional tagger on a real broker: a segment longer than
 * task.maxSequenceSteps goes to the dead-letter topic step by step (never silently truncated), and
 * a segment left open when the worker stops is restored from the state changelog by the next
 * worker, which predicts every step of it — those consumed before the restart included — at its eos.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { decodeDeadLetter, encodeEvent } from '../../../shared/codec/index.js';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createMetricsRegistry } from '../../../shared/metrics/index.js';
import { createWorkerMetrics } from '../../../shared/metrics/worker-metrics.js';
import type {
  KafkaAdmin,
  KafkaClient,
  OutgoingRecord,
} from '../../../shared/transport/kafka/index.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { startTestWorker } from '../../support/kafka/in-process-worker.js';
import {
  createTestApp,
  foldChangelog,
  predictionsOf,
  produceRecords,
  readTopic,
  readTopicUntil,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('worker-bidirectional-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

const logger = createLogger({ name: 'worker-bidirectional-test', level: 'warn' });
const MAX_STEPS = 4;

function event(key: string, token: string, eos = false): OutgoingRecord {
  return {
    key,
    value: encodeEvent({ key, token, label: 'ae'.includes(token) ? 'vowel' : 'other', eos }),
  };
}

async function runWorkerUntil(app: string, done: () => Promise<void>): Promise<void> {
  const config = parseConfig(
    {
      app,
      backend: 'cpu',
      task: { type: 'tag', labels: ['vowel', 'other'], maxSequenceSteps: MAX_STEPS },
      model: { cell: 'gru', hidden: 6, embedding: 4, bidirectional: true },
    },
    { source: 'worker-bidirectional-test' },
  );
  const worker = await startTestWorker({
    metrics: createWorkerMetrics(createMetricsRegistry({ defaultMetrics: false })),
    config,
    client,
    logger,
    maxBatchSize: 3,
  });
  try {
    await done();
  } finally {
    await worker.stop();
  }
}

test(
  'bidirectional segments on a worker: steps beyond task.maxSequenceSteps are dead letters with their reason, and a segment open at a restart is restored and predicted whole at its eos',
  { timeout: 180_000 },
  async () => {
    const { app, topics } = await createTestApp({
      admin,
      name: 'worker bidirectional',
      partitions: 1,
    });
    // Offsets 0..: 'long' sends 6 steps then its eos (steps 5, 6 and the eos are refused);
    // 'open' sends the first 2 steps of a segment that the second worker sees end.
    const first = [
      event('long', 'a'),
      event('open', 'b'),
      event('long', 'b'),
      event('long', 'c'),
      event('open', 'a'),
      event('long', 'd'),
      event('long', 'e'),
      event('long', 'a'),
      event('long', 'b', true),
    ];
    await produceRecords({ client, topic: topics.events, records: first });
    await runWorkerUntil(app, async () => {
      const letters = await readTopicUntil({
        client,
        admin,
        topic: topics.deadLetter,
        done: (r) => r.length >= 3,
        what: '3 dead letters',
      });
      assert.deepEqual(
        letters.map((r) => decodeDeadLetter(r.value).offset),
        [6, 7, 8],
        'the 5th, 6th and eos step of the long segment',
      );
      for (const r of letters) {
        const letter = decodeDeadLetter(r.value);
        assert.equal(letter.errorType, 'InputError');
        assert.match(letter.error, /already has task\.maxSequenceSteps = 4 steps/);
        assert.match(letter.error, /fix: close segments with "eos": true within 4 events/);
      }
      // Wait until the open segment's 2 steps are in the changelog, then stop mid-segment.
      await readTopicUntil({
        client,
        admin,
        topic: topics.stateChangelog,
        done: (r) => foldChangelog(r).get('open')?.steps.count === 2,
        what: "the open segment's two buffered steps in the changelog",
      });
    });
    const before = predictionsOf(await readTopic({ client, admin, topic: topics.predictions }));
    assert.deepEqual(before, [], 'no step is predicted before its segment ends');

    // Offsets 9..: the open segment ends; 'long' starts afresh with a short segment.
    await produceRecords({
      client,
      topic: topics.events,
      records: [
        event('open', 'c'),
        event('long', 'e'),
        event('open', 'e', true),
        event('long', 'c', true),
      ],
    });
    await runWorkerUntil(app, async () => {
      const predictions = predictionsOf(
        await readTopicUntil({
          client,
          admin,
          topic: topics.predictions,
          done: (r) => r.length >= 6,
          what: '6 predictions',
        }),
      );
      const ofKey = (key: string) => predictions.filter((p) => p.key === key);
      assert.deepEqual(
        ofKey('open').map((p) => [p.index, p.actual, p.eos ?? false]),
        [
          [1, 'other', false],
          [4, 'vowel', false],
          [9, 'other', false],
          [11, 'vowel', true],
        ],
        'the restored steps (offsets 1, 4) are predicted with the new ones, each naming its offset',
      );
      assert.deepEqual(
        ofKey('long').map((p) => p.index),
        [10, 12],
        "after the refused eos the long key's next segment starts clean",
      );
      assert.ok(predictions.every((p) => p.label === 'vowel' || p.label === 'other'));
    });
  },
);
