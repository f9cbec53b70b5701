/**
 * A sequence-to-sequence model learned by the distributed system on a real broker: a `rnnstream
 * paramserver` and a `rnnstream worker` in lockstep learn to reverse short sequences from pair
 * events. Every pair gets exactly one committed prediction (read_committed), made with a version
 * that did not yet learn from it; what is not a pair for this model is dead-lettered with its
 * reason; the changelog holds no key states (pairs carry none), only the partitions' progress.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { produceEvents } from '../../../services/produce/index.js';
import { decodeDeadLetter } from '../../../shared/codec/index.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';
import {
  createAppTopics,
  foldChangelog,
  predictionsOf,
  readTopic,
  readTopicUntil,
  spawnService,
  spawnWorker,
  writeConfig,
  type WorkerProcess,
} from '../../support/kafka/worker-harness.js';
import { createRng, tempDir } from '../../support/run-helpers.js';

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;
const children: WorkerProcess[] = [];
before(async () => ({ broker, client, admin } = await connectTestAdmin('worker-seq2seq-test')), {
  timeout: 240_000,
});
after(async () => {
  for (const child of children) child.child.kill('SIGKILL');
  await releaseTestAdmin({ broker, admin });
});

const V = 8;

/** Pairs {source: random ids, target: the source reversed}, 3 to 5 tokens, over 7 keys. */
function reversalPairs(count: number, seed: number): StreamEvent[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) => {
    const n = 3 + Math.floor(rng.uniform() * 3);
    const source = Array.from({ length: n }, () => Math.floor(rng.uniform() * V));
    return { key: `seq-${i % 7}`, source, target: [...source].reverse(), eos: false };
  });
}

const exactMatch = (ps: ReadonlyArray<{ exactMatch?: boolean | undefined }>) =>
  ps.filter((p) => p.exactMatch === true).length / ps.length;

test(
  'a paramserver and a worker learn to reverse sequences from pair events, one committed prediction per pair and the malformed ones dead-lettered',
  { timeout: 600_000 },
  async () => {
    const app = uniqueTopicPrefix('worker-seq2seq');
    const dir = await tempDir('worker-seq2seq-');
    const configPath = await writeConfig(dir, {
      app,
      backend: 'cpu',
      task: { type: 'seq2seq' },
      input: { tokenizer: 'ids', vocabSize: V },
      model: { cell: 'gru', hidden: 32, embedding: 16 },
      optimizer: { learningRate: 0.01 },
      seq2seq: {
        attentionSize: 32,
        maxSourceLength: 12,
        maxTargetLength: 12,
        decode: 'beam',
        beamWidth: 2,
      },
      paramserver: { mode: 'sync', minWorkers: 1, roundDeadlineMs: 10_000 },
    });
    await createAppTopics({ admin, app, partitions: 2 });
    const paramserver = spawnService({
      command: 'paramserver',
      configPath,
      brokers: broker.brokers,
      args: ['--checkpoint-dir', dir],
    });
    children.push(paramserver);
    const worker = spawnWorker({
      configPath,
      brokers: broker.brokers,
      args: [...['--worker-id', 'w0', '--max-batch-size', '200', '--params-lockstep-ms', '20000']],
    });
    children.push(worker);
    await worker.waitForLog(/using the published parameters/, 120_000);
    await worker.waitForLog(/"partitions restored"/, 120_000);

    const pairs = reversalPairs(2560, 1);
    const malformed: StreamEvent[] = [
      { key: 'seq-3', token: 2, eos: false }, // a per-step event reaching a pair model
      { key: 'seq-4', source: [1, 2], target: [V + 1], eos: false }, // a target id out of the vocabulary
    ];
    const events = [...pairs.slice(0, 100), ...malformed, ...pairs.slice(100)];
    const topics = topicNames(app);
    const produced = await produceEvents({ client, topic: topics.events, events, batchSize: 100 });
    assert.equal(produced.skipped, 0);

    const predictions = predictionsOf(
      await readTopicUntil({
        client,
        admin,
        topic: topics.predictions,
        done: (r) => r.length >= pairs.length,
        timeoutMs: 400_000,
        what: `${pairs.length} predictions`,
      }).catch((error: unknown) => {
        throw new Error(
          `${(error as Error).message}\nworker:\n${worker.stderr().slice(-4000)}\nparamserver:\n${paramserver.stderr().slice(-3000)}`,
        );
      }),
    );
    worker.child.kill('SIGTERM');
    const summary = await worker.summary;
    paramserver.child.kill('SIGTERM');
    await paramserver.summary.catch(() => undefined);

    // Exactly one prediction per pair: its key's pairs in produce order, each with its own target.
    assert.equal(predictions.length, pairs.length);
    const byKey = new Map<string, typeof predictions>();
    for (const p of predictions) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
    for (const [key, ps] of byKey) {
      const expected = pairs.filter((p) => p.key === key);
      assert.deepEqual(
        ps.map((p) => p.target),
        expected.map((p) => p.target!.map(String)),
        `key ${key}`,
      );
      for (let i = 1; i < ps.length; i++) {
        assert.ok(ps[i]!.index > ps[i - 1]!.index, `${key}: offsets in order`);
        assert.ok(ps[i]!.paramVersion >= ps[i - 1]!.paramVersion, `${key}: versions in order`);
      }
    }
    for (const p of predictions) {
      assert.equal(p.task, 'seq2seq');
      assert.ok(Number.isFinite(p.bits) && p.bits! > 0);
      assert.equal(typeof p.exactMatch, 'boolean');
    }

    // Learned, as the embedded run learns it (docs/design.md "Sequence to sequence").
    const ordered = [...predictions].sort((a, b) => a.paramVersion - b.paramVersion);
    assert.ok(
      exactMatch(ordered.slice(0, 256)) < 0.1,
      `early ${exactMatch(ordered.slice(0, 256))}`,
    );
    assert.ok(exactMatch(ordered.slice(-256)) >= 0.85, `late ${exactMatch(ordered.slice(-256))}`);
    const finalVersion = ordered.at(-1)!.paramVersion;
    assert.ok(finalVersion >= 100, `final version ${finalVersion}`);
    assert.ok(Number(summary.trainSteps) >= 100, `train steps ${String(summary.trainSteps)}`);

    // The two malformed events are dead letters with their reasons, nothing else is.
    const deadLetters = (await readTopic({ client, admin, topic: topics.deadLetter })).map((r) =>
      decodeDeadLetter(r.value),
    );
    assert.equal(deadLetters.length, 2);
    const reasons = deadLetters.map((d) => d.error).join('\n');
    assert.match(reasons, /a "token" event reached a seq2seq model/);
    assert.match(reasons, /target\[0\]/);
    // Pairs carry no state: the changelog holds only each partition's progress.
    const changelog = await readTopic({ client, admin, topic: topics.stateChangelog });
    assert.ok(changelog.length > 0);
    assert.equal(foldChangelog(changelog).size, 0);
  },
);
