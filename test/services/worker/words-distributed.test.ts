import assert from 'node:assert/strict';
import { test } from 'node:test';

import { produceEvents } from '../../../services/produce/index.js';
import { readCheckpoint } from '../../../shared/paramserver/index.js';
import { DEFAULT_MODEL_ID } from '../../../shared/paramserver-client/index.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import { topicNames } from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { useTestKafka } from '../../support/kafka/client.js';
import {
  createAppTopics,
  predictionsOf,
  readTopicUntil,
  spawnService,
  writeConfig,
} from '../../support/kafka/worker-harness.js';
import { readWholeTopic, versionsOnTopic } from '../../support/paramserver/harness.js';
import { tempDir } from '../../support/run-helpers.js';
import { until } from '../../support/until.js';

const kafka = useTestKafka('words-distributed');

const KEYS = 8;
const STEPS_PER_KEY = 24;
const WORDS = 'the cat sat on the mat and the dog sat on the log while it rained'.split(' ');

function* events(): Generator<StreamEvent> {
  for (let i = 0; i < STEPS_PER_KEY; i++)
    for (let k = 0; k < KEYS; k++)
      yield { key: `doc-${k}`, token: WORDS[(i + 3 * k) % WORDS.length]!, eos: false };
}

test('two worker processes and the paramserver agree on word ids over Kafka: the vocabulary is published with each version and every prediction decodes with it', async () => {
  const app = uniqueTopicPrefix('words distributed');
  const dir = await tempDir('words-distributed-');
  const configPath = await writeConfig(dir, {
    app,
    backend: 'cpu',
    input: { tokenizer: 'words', vocabSize: 12, minWordCount: 4 },
    model: { cell: 'rnn', hidden: 8, embedding: 4 },
    tbptt: { k1: 4, k2: 4, maxKeys: 64, maxWaitMs: 1000 },
    paramserver: { mode: 'async' },
    seed: 4,
  });
  await createAppTopics({ admin: kafka.admin, app, partitions: 2 });
  const paramserver = spawnService({
    command: 'paramserver',
    configPath,
    brokers: kafka.broker.brokers,
    args: ['--checkpoint-dir', dir],
  });
  kafka.spawned(paramserver.child);
  const workers = ['w1', 'w2'].map((id) =>
    spawnService({
      command: 'worker',
      configPath,
      brokers: kafka.broker.brokers,
      args: ['--worker-id', id, '--session-timeout-ms', '30000'],
    }),
  );
  for (const w of workers) kafka.spawned(w.child);
  for (const w of workers) await w.waitForLog(/"partitions restored"/, 120_000);
  await produceEvents({
    client: kafka.client,
    topic: topicNames(app).events,
    events: events(),
    batchSize: 32,
  });
  const total = KEYS * STEPS_PER_KEY;
  const predictions = predictionsOf(
    await readTopicUntil({
      client: kafka.client,
      admin: kafka.admin,
      topic: topicNames(app).predictions,
      done: (r) => r.length >= total,
      timeoutMs: 240_000,
      what: `${total} predictions`,
    }),
  );
  assert.equal(new Set(predictions.map((p) => p.partition)).size, 2, 'both workers predicted');

  // Training runs behind the predictions: wait for the versions that admit the rarer words.
  let last = '';
  const { versions, published } = await until(
    'a published vocabulary of 8 words or more',
    async () => {
      const { versions } = versionsOnTopic(
        await readWholeTopic(kafka.client, topicNames(app).params),
        DEFAULT_MODEL_ID,
      );
      const published = versions.get(Math.max(...versions.keys()))?.vocabulary ?? [];
      last = `${versions.size} versions, the newest with ${published.join(' ')}`;
      return published.length >= 9 ? { versions, published } : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 1000, diagnose: () => last },
  );
  const newest = Math.max(...versions.keys());
  // Each key reads a rare word once or twice (minWordCount 4): only counts summed over keys admit it.
  assert.equal(published[0], '<oov>');
  for (const word of published.slice(1)) assert.ok(WORDS.includes(word), word);
  assert.equal(new Set(published).size, published.length);

  // Every worker decodes its predictions with the vocabulary of the version it used: a word the
  // version holds, or an id the version has not given out yet, never one it has.
  const vocabularyAt = (v: number) => versions.get(v)?.vocabulary ?? ['<oov>'];
  for (const p of predictions) {
    if (!versions.has(p.paramVersion)) continue; // compacted away
    const words = vocabularyAt(p.paramVersion);
    const unused = /^<unused (\d+)>$/.exec(p.predictedToken ?? '');
    if (unused)
      assert.ok(Number(unused[1]) >= words.length, `${p.predictedToken} at v${p.paramVersion}`);
    else assert.ok(words.includes(p.predictedToken!), `${p.predictedToken} at v${p.paramVersion}`);
  }
  // Ids were only ever appended: every version's vocabulary is a prefix of the newest.
  for (const [v, decoded] of versions)
    assert.deepEqual(
      published.slice(0, decoded.vocabulary?.length ?? 1),
      decoded.vocabulary ?? ['<oov>'],
      `v${v}`,
    );

  // The checkpoint holds the same vocabulary (a restarted paramserver continues with it).
  const saved = await until(
    'a checkpoint of the newest version',
    async () => {
      const checkpoint = await readCheckpoint(dir, DEFAULT_MODEL_ID);
      return checkpoint !== undefined && checkpoint.version >= newest ? checkpoint : undefined;
    },
    { timeoutMs: 30_000, ignoreErrors: true },
  );
  assert.deepEqual(saved.vocabulary?.vocabulary.words.slice(0, published.length), published);
  for (const w of [...workers, paramserver]) w.child.kill('SIGTERM');
});
