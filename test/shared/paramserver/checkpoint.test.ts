import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import { ShapeError } from '../../../shared/errors/index.js';
import type { ModelSpec } from '../../../shared/model/model-spec.js';
import { createLearningRateSchedule } from '../../../shared/optim/learning-rate-schedule.js';
import {
  checkpointSlotPaths,
  createCheckpointStore,
  ParameterServer,
  readCheckpoint,
  writeCheckpoint,
  type InvalidCheckpointSlot,
  type ParameterServerOptions,
} from '../../../shared/paramserver/index.js';
import { availableBackends } from '../../support/backends.js';
import {
  assertSameBits,
  gradient,
  initialState,
  serverOptions,
} from '../../support/paramserver/gradients.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ps-ckpt-'));
  dirs.push(dir);
  return dir;
};

// Only compared for equality: the checkpoint keeps the spec to refuse another model's file.
const SPEC = { cell: 'lstm', hidden: 2 } as unknown as ModelSpec;

/** Round r: workers w1..w3, one gradient each on version r (w3 one version stale from round 1 on). */
const roundInputs = (round: number) =>
  ['w1', 'w2', 'w3'].map((workerId, i) =>
    gradient({
      workerId,
      step: round + 1,
      paramVersion: workerId === 'w3' ? Math.max(0, round - 1) : round,
      tokens: 4 + 3 * i + round,
    }),
  );

function runRounds(server: ParameterServer, from: number, to: number): void {
  for (let round = from; round < to; round++) {
    for (const g of roundInputs(round)) assert.equal(server.offer(g).kind, 'accepted');
    server.applyRound('all-live');
  }
}

const optionVariants: Array<[string, ParameterServerOptions]> = [
  [
    'adam with warm-up and cosine decay',
    serverOptions({
      schedule: createLearningRateSchedule({
        learningRate: 0.05,
        warmupSteps: 3,
        decay: 'cosine',
        decaySteps: 5,
        minLearningRate: 0.001,
      }),
    }),
  ],
  ['sgd with momentum', serverOptions({ optimizer: { type: 'sgd', momentum: 0.9 } })],
];

for (const backend of await availableBackends(['cpu', 'tensorflow'])) {
  for (const [label, options] of optionVariants) {
    test(`[${backend}] ${label}: checkpoint at version 3, load, continue to 8: bit-identical to an uninterrupted run`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const uninterrupted = ParameterServer.create({ options, state: initialState() });
      runRounds(uninterrupted, 0, 8);

      const first = ParameterServer.create({ options, state: initialState() });
      runRounds(first, 0, 3);
      const dir = await tempDir();
      const gradientOffsets = [
        { partition: 0, offset: 17 },
        { partition: 1, offset: 4 },
      ];
      await writeCheckpoint(dir, {
        ...first.state(),
        modelId: 'm1',
        spec: SPEC,
        gradientOffsets,
        writtenAtMs: 123,
      });
      first.dispose(); // the "crash"

      const loaded = await readCheckpoint(dir, 'm1');
      assert.ok(loaded);
      assert.deepEqual(loaded.gradientOffsets, gradientOffsets);
      assert.deepEqual(loaded.spec, SPEC);
      assert.equal(loaded.version, 3);
      assert.equal(loaded.scheduleStep, 3);
      const resumed = ParameterServer.create({ options, state: loaded });
      assert.equal(
        resumed.offer(roundInputs(2)[0]!).kind,
        'duplicate',
        'progress survived the checkpoint',
      );
      runRounds(resumed, 3, 8);

      assert.equal(resumed.version, uninterrupted.version);
      assertSameBits(resumed.parameterValues(), uninterrupted.parameterValues(), 'parameters');
      const a = resumed.state();
      const b = uninterrupted.state();
      assertSameBits(a.optimizer!.slots, b.optimizer!.slots, 'optimizer slots');
      assert.equal(a.optimizer!.step, b.optimizer!.step);
      assert.deepEqual(a.progress, b.progress);
      resumed.dispose();
      uninterrupted.dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    });
  }
}

const checkpointOf = (server: ParameterServer, writtenAtMs = 0) => ({
  ...server.state(),
  modelId: 'm1',
  spec: SPEC,
  gradientOffsets: [],
  writtenAtMs,
});

test('checkpoints alternate between two slot files and the newest complete one is read', async () => {
  await tf.setBackend('cpu');
  const dir = await tempDir();
  const [a, b] = checkpointSlotPaths(dir, 'm1');
  assert.equal(await readCheckpoint(dir, 'm1'), undefined);
  assert.equal(await readCheckpoint(join(dir, 'absent'), 'm1'), undefined);
  const store = createCheckpointStore({ directory: dir, modelId: 'm1' });
  const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
  const written: string[] = [];
  for (let round = 0; round < 3; round++) {
    runRounds(server, round, round + 1);
    const { path, bytes } = await store.write(checkpointOf(server));
    written.push(path);
    assert.equal((await stat(path)).size, bytes);
    assert.ok(bytes > 9 * 4 * 3, 'parameters and two Adam slots');
    assert.equal((await readCheckpoint(dir, 'm1'))?.version, round + 1);
  }
  assert.deepEqual(written, [a, b, a]);
  assert.deepEqual((await readdir(dir)).sort(), [basename(a), basename(b)], 'no temp files');
  // A new store (a restart) finds the newest slot and writes over the other one.
  runRounds(server, 3, 4);
  const restarted = createCheckpointStore({ directory: dir, modelId: 'm1' });
  assert.equal((await restarted.read())?.version, 3);
  assert.equal((await restarted.write(checkpointOf(server))).path, b);
  assert.equal((await readCheckpoint(dir, 'm1'))?.version, 4);
  server.dispose();
});

test('a slot torn by a crash mid-write is passed over for the other one, and written over next', async () => {
  await tf.setBackend('cpu');
  const dir = await tempDir();
  const [a, b] = checkpointSlotPaths(dir, 'm1');
  const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
  runRounds(server, 0, 1);
  await writeCheckpoint(dir, checkpointOf(server)); // version 1 in slot a
  runRounds(server, 1, 2);
  const { bytes } = await writeCheckpoint(dir, checkpointOf(server)); // version 2 in slot b
  for (const tear of [
    async () => truncate(b, bytes - 5), // the write stopped early
    async () => {
      // all bytes there, some of them still the old ones
      const handle = await open(b, 'r+');
      await handle.write(Buffer.from([1, 2, 3, 4]), 0, 4, bytes - 40);
      await handle.close();
    },
  ]) {
    await writeCheckpoint(dir, checkpointOf(server)); // slot a: version 2
    await writeCheckpoint(dir, checkpointOf(server)); // slot b: version 2, the newest
    await tear();
    const passedOver: InvalidCheckpointSlot[] = [];
    const store = createCheckpointStore({
      directory: dir,
      modelId: 'm1',
      onInvalidSlot: (slot) => passedOver.push(slot),
    });
    const loaded = await store.read();
    assert.equal(loaded?.version, 2);
    assert.equal(passedOver.length, 1);
    assert.equal(passedOver[0]!.path, b);
    assert.match(passedOver[0]!.reason, /interrupted write/);
    assert.equal((await store.write(checkpointOf(server))).path, b, 'the torn slot is reused');
    assert.equal((await readCheckpoint(dir, 'm1'))?.version, 2);
  }
  server.dispose();
  await writeFile(a, 'hello\n');
  await writeFile(b, 'world\n');
  await assert.rejects(
    readCheckpoint(dir, 'm1'),
    (e) =>
      e instanceof ShapeError &&
      e.message.includes(a) &&
      e.message.includes(b) &&
      /no complete paramserver checkpoint .*fix:/.test(e.message),
  );
});
