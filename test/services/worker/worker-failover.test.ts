import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  decodeEventPayload,
  encodeEvent,
  type KeyStateRecord,
} from '../../../shared/codec/index.js';
import { parseConfig, type Config } from '../../../shared/config/index.js';
import { withBackend } from '../../../shared/engine/select-backend.js';
import { createLearner } from '../../../shared/learner/create-learner.js';
import { encodeEvent as encodeForModel } from '../../../shared/learner/event-encoder.js';
import { keyStateRecordOf } from '../../../shared/learner/key-state-mapping.js';
import { isClassificationTask } from '../../../shared/model/model-spec.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';
import {
  createAppTopics,
  foldChangelog,
  predictionsOf,
  produceRecords,
  readTopic,
  readTopicUntil,
  spawnWorker,
  writeConfig,
  type WorkerProcess,
} from '../../support/kafka/worker-harness.js';
import { tempDir } from '../../support/run-helpers.js';

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;
const running: WorkerProcess[] = [];

before(
  async () => void ({ broker, client, admin } = await connectTestAdmin('worker-failover-test')),
  { timeout: 240_000 },
);
after(async () => {
  for (const w of running) w.child.kill('SIGKILL');
  await releaseTestAdmin({ broker, admin });
});

const PARTITIONS = 4;
const TEXTS = [
  'the quick brown fox jumps over the lazy dog',
  'a stitch in time saves nine, or so they say',
  'all that glitters is not gold; all who wander are not lost',
  'streams of events, one hidden state per key',
];

/** A small byte LM on the cpu backend: its inference is batch-invariant, so states can be compared bit for bit. */
function testConfig(app: string): Config {
  return parseConfig(
    {
      app,
      backend: 'cpu',
      model: { cell: 'lstm', hidden: 16, embedding: 8 },
      tbptt: { k1: 4, k2: 8, maxKeys: 8 },
      seed: 3,
    },
    { source: 'worker-failover-test' },
  );
}

/** `keys` keys, each the characters of a text (repeated to `length`), interleaved round-robin. */
function eventRecords(keys: number, length: number): { key: string; value: Uint8Array }[][] {
  const perKey = Array.from({ length: keys }, (_, k) => {
    const text = TEXTS[k % TEXTS.length]!.repeat(Math.ceil(length / 40)).slice(0, length);
    return [...text].map((token) => ({
      key: `seq-${k}`,
      value: encodeEvent({ key: `seq-${k}`, token, eos: false }),
    }));
  });
  const out: { key: string; value: Uint8Array }[][] = [];
  for (let i = 0; i < length; i++) out.push(perKey.map((events) => events[i]!));
  return out;
}

/**
 * The state every key has after a single uninterrupted run with training off over the events as
 * they sit in the topic (per partition, in offset order).
 */
async function referenceStates(config: Config, events: readonly KafkaBusRecord[]) {
  return withBackend('cpu', async () => {
    const learner = createLearner({ config });
    const { learner: streamLearner, normalizer } = learner.openKeySpace();
    const lastOffset = new Map<string, number>();
    try {
      const ordered = [...events].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      const encoded = ordered.map((r) => {
        lastOffset.set(r.key, r.offset);
        return encodeForModel({
          event: decodeEventPayload(r.value),
          index: r.offset,
          spec: learner.spec,
          tokens: learner.tokenizer,
          labels: learner.labels,
          normalizer,
        });
      });
      await streamLearner.process(encoded);
      const layout = {
        inputKind: learner.spec.inputKind,
        targetKind: isClassificationTask(learner.spec.task)
          ? ('class' as const)
          : ('regression' as const),
        featureSize: learner.spec.featureSize,
        horizon: 1,
        eventIds: false,
      };
      const out = new Map<string, KeyStateRecord>();
      for (const sequence of streamLearner.store.values())
        out.set(
          sequence.key,
          keyStateRecordOf({
            snapshot: sequence.toSnapshot(),
            layout,
            inputOffset: lastOffset.get(sequence.key)!,
            tsMs: 0,
          }),
        );
      return out;
    } finally {
      learner.dispose();
    }
  });
}

function assertSameState(actual: KeyStateRecord | undefined, expected: KeyStateRecord): void {
  assert.ok(actual, `key '${expected.key}' has no state in the changelog`);
  const key = expected.key;
  assert.deepEqual(
    Buffer.from(actual.state.buffer, actual.state.byteOffset, actual.state.byteLength),
    Buffer.from(expected.state.buffer, expected.state.byteOffset, expected.state.byteLength),
    `key '${key}': carried state differs`,
  );
  assert.equal(actual.position, expected.position, `key '${key}': position`);
  assert.equal(actual.pending, expected.pending, `key '${key}': pending`);
  assert.equal(actual.previousToken, expected.previousToken, `key '${key}': previous token`);
  assert.equal(actual.inputOffset, expected.inputOffset, `key '${key}': input offset`);
  assert.deepEqual(
    actual.snapshots.map((s) => [s.position, [...s.state]]),
    expected.snapshots.map((s) => [s.position, [...s.state]]),
    `key '${key}': window-start states`,
  );
  assert.deepEqual(actual.steps, expected.steps, `key '${key}': stored steps`);
}

/** Exactly one prediction per event: the (partition, offset) pairs of predictions equal the events'. */
function assertOnePredictionPerEvent(
  predictions: ReturnType<typeof predictionsOf>,
  events: readonly KafkaBusRecord[],
): void {
  const seen = new Map<string, number>();
  for (const p of predictions) {
    const id = `${p.partition}/${p.index}`;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  const duplicates = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(duplicates, [], 'events with more than one prediction');
  const missing = events.filter((e) => !seen.has(`${e.partition}/${e.offset}`));
  assert.deepEqual(
    missing.map((e) => `${e.partition}/${e.offset}`),
    [],
    'events without a prediction',
  );
  assert.equal(predictions.length, events.length);
}

function lastAssignment(worker: WorkerProcess): number[] {
  const lines = worker
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"partitions assigned"'));
  const last = lines.at(-1);
  return last ? ((JSON.parse(last) as { partitions: number[] }).partitions ?? []) : [];
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const WORKER_ARGS = ['--no-training', '--session-timeout-ms', '6000', '--max-batch-size', '40'];

test(
  'a SIGKILLed worker’s keys move to the survivor, which restores them: final states equal an uninterrupted run bit for bit, and every event has exactly one prediction',
  { timeout: 240_000 },
  async () => {
    const app = uniqueTopicPrefix('worker failover');
    const config = testConfig(app);
    const topics = topicNames(app);
    await createAppTopics({ admin, app, partitions: PARTITIONS });
    const configPath = await writeConfig(await tempDir('worker-failover-'), config);
    const rounds = eventRecords(16, 160);
    const phase1 = rounds.slice(0, 100).flat();
    const phase2 = rounds.slice(100).flat();
    await produceRecords({ client, topic: topics.events, records: phase1 });

    const a = spawnWorker({
      configPath,
      brokers: broker.brokers,
      args: [...WORKER_ARGS, '--worker-id', 'a'],
    });
    const b = spawnWorker({
      configPath,
      brokers: broker.brokers,
      args: [...WORKER_ARGS, '--worker-id', 'b'],
    });
    running.push(a, b);
    await until(
      () => lastAssignment(a).length > 0 && lastAssignment(b).length > 0,
      'both workers to own partitions',
    );
    await readTopicUntil({
      client,
      admin,
      topic: topics.predictions,
      done: (records) => records.length >= 200,
      what: 'the first predictions',
    });
    const killedPartitions = lastAssignment(a);
    a.child.kill('SIGKILL');
    await produceRecords({ client, topic: topics.events, records: phase2 });

    const total = phase1.length + phase2.length;
    await readTopicUntil({
      client,
      admin,
      topic: topics.predictions,
      done: (records) => records.length >= total,
      timeoutMs: 120_000,
      what: `${total} predictions`,
    });
    b.child.kill('SIGTERM');
    const summary = await b.summary;
    assert.ok(Number(summary.restoredKeys) > 0, 'the survivor restored keys from the changelog');
    assert.deepEqual(
      lastAssignment(b),
      [...Array(PARTITIONS).keys()],
      'the survivor owns every partition',
    );
    assert.ok(killedPartitions.length > 0);

    const events = await readTopic({ client, admin, topic: topics.events });
    assertOnePredictionPerEvent(
      predictionsOf(await readTopic({ client, admin, topic: topics.predictions })),
      events,
    );
    const changelog = foldChangelog(
      await readTopic({ client, admin, topic: topics.stateChangelog }),
    );
    const expected = await referenceStates(config, events);
    assert.equal(changelog.size, expected.size, 'keys in the changelog');
    for (const [key, state] of expected) assertSameState(changelog.get(key), state);
  },
);

test(
  'a worker killed and restarted with the same id resumes from its committed offsets: no event is predicted twice and its keys continue exactly',
  { timeout: 180_000 },
  async () => {
    const app = uniqueTopicPrefix('worker restart');
    const config = testConfig(app);
    const topics = topicNames(app);
    await createAppTopics({ admin, app, partitions: 2 });
    const configPath = await writeConfig(await tempDir('worker-restart-'), config);
    const rounds = eventRecords(6, 120);
    const phase1 = rounds.slice(0, 60).flat();
    const phase2 = rounds.slice(60).flat();
    await produceRecords({ client, topic: topics.events, records: phase1 });
    const args = [...WORKER_ARGS, '--worker-id', 'same'];
    const first = spawnWorker({ configPath, brokers: broker.brokers, args });
    running.push(first);
    await readTopicUntil({
      client,
      admin,
      topic: topics.predictions,
      done: (records) => records.length >= phase1.length,
      what: 'predictions of the first half',
    });
    first.child.kill('SIGKILL');
    await produceRecords({ client, topic: topics.events, records: phase2 });
    const second = spawnWorker({ configPath, brokers: broker.brokers, args });
    running.push(second);
    const total = phase1.length + phase2.length;
    await readTopicUntil({
      client,
      admin,
      topic: topics.predictions,
      done: (records) => records.length >= total,
      timeoutMs: 120_000,
      what: `${total} predictions`,
    });
    second.child.kill('SIGTERM');
    const summary = await second.summary;
    assert.equal(summary.restoredKeys, 6, 'the restarted worker restored every key');
    assert.equal(
      summary.events,
      phase2.length,
      'the restarted worker processed only the new events',
    );

    const events = await readTopic({ client, admin, topic: topics.events });
    assertOnePredictionPerEvent(
      predictionsOf(await readTopic({ client, admin, topic: topics.predictions })),
      events,
    );
    const changelog = foldChangelog(
      await readTopic({ client, admin, topic: topics.stateChangelog }),
    );
    const expected = await referenceStates(config, events);
    for (const [key, state] of expected) assertSameState(changelog.get(key), state);
  },
);
