import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { encodeEvent, encodeKeyState, type KeyStateRecord } from '../../../shared/codec/index.js';
import { modelSpecFromConfig, parseConfig, type Config } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { snapshotOfKeyState } from '../../../shared/learner/key-state-mapping.js';
import { createLogger } from '../../../shared/logging/index.js';
import { stateSize } from '../../../shared/model/model-spec.js';
import { windowScheduleFor } from '../../../shared/tbptt/window-schedule.js';
import {
  keyPartitioner,
  topicEndOffsets,
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { StateView, StateViewError } from '../../../services/decoder/state-view.js';
import { startWorker, type WorkerHandle } from '../../../services/worker/run-worker.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import {
  createAppTopics,
  foldChangelog,
  produceRecords,
  readTopic,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('state-view-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

const logger = createLogger({ name: 'state-view-test', level: 'warn' });
const PARTITIONS = 2;

function appConfig(app: string, extra: object = {}): Config {
  return parseConfig(
    {
      app,
      backend: 'cpu',
      model: { cell: 'lstm', hidden: 6, embedding: 3 },
      tbptt: { k1: 2, k2: 3 },
      ...extra,
    },
    { source: 'state-view-test' },
  );
}

function viewFor(config: Config): StateView {
  const spec = modelSpecFromConfig(config);
  return new StateView({
    client,
    topic: topicNames(config.app).stateChangelog,
    shape: {
      spec,
      stateSize: stateSize(spec),
      schedule: windowScheduleFor(spec.task, {
        ...config.tbptt,
        maxSequenceSteps: config.task.maxSequenceSteps,
      }),
    },
    logger,
    maxWaitTimeInMs: 100,
  });
}

const event = (key: string, token: string) => ({
  key,
  value: encodeEvent({ key, token, eos: false }),
});

/** A worker (training off) whose committed progress per events partition the test can await. */
async function workerOn(config: Config, now?: () => number) {
  const committed = new Map<number, number>();
  const waiters: Array<() => void> = [];
  const worker: WorkerHandle = await startWorker({
    config,
    client,
    logger,
    training: false,
    sessionTimeoutMs: 6_000,
    ...(now ? { now } : {}),
    onBatch: (report) => {
      committed.set(report.partition, report.nextOffset);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  /** Resolves once every partition's committed events offset reached `expected`. */
  const committedUpTo = async (expected: ReadonlyMap<number, number>) => {
    while (![...expected].every(([p, offset]) => (committed.get(p) ?? 0) >= offset))
      await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { worker, committedUpTo };
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('after a worker commits, lookup returns the state it wrote for the key, bit for bit, with the right freshness offsets', async () => {
  const app = uniqueTopicPrefix('state view lookup');
  await createAppTopics({ admin, app, partitions: PARTITIONS });
  const config = appConfig(app);
  const topics = topicNames(app);
  const partitionOf = keyPartitioner(PARTITIONS);
  const view = viewFor(config);
  const { worker, committedUpTo } = await workerOn(config);
  try {
    await view.assign([0, 1]);
    assert.ok(view.isReady(0) && view.isReady(1));
    assert.equal(view.lookup('alice', partitionOf('alice')), undefined, 'never seen');

    // Events of a few keys; offsets per events partition follow the order they are sent in.
    const keys = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const sent = keys.flatMap((key, k) =>
      Array.from({ length: 3 + k }, (_, i) => event(key, String.fromCharCode(97 + ((i + k) % 26)))),
    );
    await produceRecords({ client, topic: topics.events, records: sent });
    const perPartition = new Map<number, number>();
    const lastOffsetOf = new Map<string, number>();
    const eventsOf = new Map<string, number>();
    for (const { key } of sent) {
      const p = partitionOf(key);
      const offset = perPartition.get(p) ?? 0;
      perPartition.set(p, offset + 1);
      lastOffsetOf.set(key, offset);
      eventsOf.set(key, (eventsOf.get(key) ?? 0) + 1);
    }
    await committedUpTo(perPartition);
    await view.catchUp([0, 1], { timeoutInMs: 15_000 });

    const changelog = await readTopic({ client, admin, topic: topics.stateChangelog });
    const written = foldChangelog(changelog);
    const ends = await topicEndOffsets({ admin, topic: topics.stateChangelog });
    for (const key of keys) {
      const p = partitionOf(key);
      const found = view.lookup(key, p);
      assert.ok(found, `${key} is found`);
      const record = written.get(key)!;
      assert.ok(
        bytesOf(found.snapshot.state).equals(bytesOf(record.state)),
        `${key}: state bit for bit`,
      );
      assert.deepEqual(found.snapshot, snapshotOfKeyState(record));
      // Past the last commit marker: the partition's end.
      const changelogEnd = ends.find((o) => o.partition === p)!.high;
      assert.deepEqual(found.freshness, {
        partition: p,
        changelogOffset: changelogEnd,
        keyInputOffset: lastOffsetOf.get(key)!,
        eventsOffset: perPartition.get(p)!,
        position: eventsOf.get(key)!,
        stateParamVersion: 0,
      });
    }
    assert.equal(view.keys, keys.length);
    assert.equal(view.corruptRecords, 0);
    assert.deepEqual([...(await view.lagOffsets())].sort(), [
      [0, 0],
      [1, 0],
    ]);

    // More events for one key: the view follows without a new assign.
    await produceRecords({ client, topic: topics.events, records: [event('alice', 'z')] });
    const p = partitionOf('alice');
    await committedUpTo(new Map([[p, perPartition.get(p)! + 1]]));
    await view.catchUp([p], { timeoutInMs: 15_000 });
    const alice = view.lookup('alice', p)!;
    assert.equal(alice.freshness.keyInputOffset, perPartition.get(p)!);
    assert.equal(alice.freshness.eventsOffset, perPartition.get(p)! + 1);
    assert.equal(alice.freshness.position, eventsOf.get('alice')! + 1);

    // release forgets the partition's keys; assigning it again restores them.
    view.release([p]);
    assert.equal(view.isReady(p), false);
    assert.deepEqual(view.partitions(), [1 - p]);
    assert.throws(
      () => view.lookup('alice', p),
      (e: unknown) => e instanceof StateViewError && !e.retriable,
    );
    assert.equal(view.keys, keys.filter((k) => partitionOf(k) !== p).length);
    await view.assign([p]);
    assert.deepEqual(view.lookup('alice', p)!.snapshot, alice.snapshot);
  } finally {
    await worker.stop();
    await view.stop();
  }
});

test('a key the worker evicts (tombstone) disappears from the view', async () => {
  const app = uniqueTopicPrefix('state view tombstone');
  await createAppTopics({ admin, app, partitions: 1 });
  const config = appConfig(app, { state: { ttlMs: 60_000 } });
  const topics = topicNames(app);
  let clockMs = 1_700_000_000_000;
  const view = viewFor(config);
  const { worker, committedUpTo } = await workerOn(config, () => clockMs);
  try {
    await view.assign([0]);
    await produceRecords({
      client,
      topic: topics.events,
      records: [event('old', 'a'), event('old', 'b')],
    });
    await committedUpTo(new Map([[0, 2]]));
    await view.catchUp([0], { timeoutInMs: 15_000 });
    assert.ok(view.lookup('old', 0));

    clockMs += 3_600_000; // 'old' has been idle longer than state.ttlMs
    await produceRecords({ client, topic: topics.events, records: [event('new', 'x')] });
    await committedUpTo(new Map([[0, 3]]));
    await view.catchUp([0], { timeoutInMs: 15_000 });
    const changelog = await readTopic({ client, admin, topic: topics.stateChangelog });
    assert.ok(
      changelog.filter((r) => r.key === 'old').at(-1)?.tombstone,
      'the worker wrote a tombstone',
    );
    assert.equal(view.lookup('old', 0), undefined);
    assert.ok(view.lookup('new', 0));
    assert.equal(view.keys, 1);
  } finally {
    await worker.stop();
    await view.stop();
  }
});

test('corrupt records and states the model cannot use are counted and skipped, never thrown', async () => {
  const app = uniqueTopicPrefix('state view corrupt');
  await createAppTopics({ admin, app, partitions: 1 });
  const config = appConfig(app);
  const topics = topicNames(app);
  const spec = modelSpecFromConfig(config);
  const size = stateSize(spec);
  const valid = (key: string, state: Float32Array): KeyStateRecord => ({
    key,
    state,
    snapshots: [],
    steps: {
      inputKind: 'tokens',
      targetKind: 'class',
      featureSize: 0,
      count: 1,
      inputTokens: Int32Array.of(1),
      classTargets: Int32Array.of(2),
      hasLoss: Uint8Array.of(1),
    },
    position: 1,
    pending: 1,
    closing: false,
    previousToken: 2,
    paramVersion: 0,
    inputOffset: 0,
    tsMs: 1,
    lastSeenMs: 1,
  });
  const good = valid('good', new Float32Array(size).fill(0.25));
  await produceRecords({
    client,
    topic: topics.stateChangelog,
    records: [
      { key: 'junk', value: Uint8Array.of(0xff, 0x01, 0x02, 0x03), partition: 0 },
      {
        key: 'wrong-size',
        value: encodeKeyState(valid('wrong-size', new Float32Array(size + 1))),
        partition: 0,
      },
      {
        key: 'elsewhere',
        value: encodeKeyState(valid('another-key', new Float32Array(size))),
        partition: 0,
      },
      { key: 'good', value: encodeKeyState(good), partition: 0 },
      {
        key: '\u0000rnnstream/progress/0',
        value: new TextEncoder().encode('{"nextOffset":'),
        partition: 0,
      },
    ],
  });
  const view = viewFor(config);
  try {
    await view.assign([0]);
    assert.equal(view.lookup('junk', 0), undefined);
    assert.equal(view.lookup('wrong-size', 0), undefined);
    assert.equal(view.lookup('elsewhere', 0), undefined);
    assert.equal(view.corruptRecords, 4, 'three key records and the progress record');
    assert.equal(view.lookup('junk', 0), undefined);
    assert.equal(view.corruptRecords, 4, 'a bad record counts once');
    const found = view.lookup('good', 0);
    assert.ok(found);
    assert.ok(bytesOf(found.snapshot.state).equals(bytesOf(good.state)));
    assert.equal(found.freshness.eventsOffset, -1, 'no usable progress record');
    assert.equal(view.keys, 1);
  } finally {
    await view.stop();
  }
});
