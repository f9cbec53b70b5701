import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import { ShapeError } from '../../../shared/errors/index.js';
import type { ModelSpec } from '../../../shared/model/model-spec.js';
import { createLearningRateSchedule } from '../../../shared/optim/learning-rate-schedule.js';
import {
  checkpointPath,
  ParameterServer,
  readCheckpoint,
  writeCheckpoint,
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

test('a checkpoint write leaves no temp file; a missing checkpoint reads as undefined', async () => {
  await tf.setBackend('cpu');
  const dir = await tempDir();
  assert.equal(await readCheckpoint(dir, 'm1'), undefined);
  assert.equal(await readCheckpoint(join(dir, 'absent'), 'm1'), undefined);
  const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
  runRounds(server, 0, 1);
  const { path, bytes } = await writeCheckpoint(dir, {
    ...server.state(),
    modelId: 'm1',
    spec: SPEC,
    gradientOffsets: [],
    writtenAtMs: 0,
  });
  server.dispose();
  assert.equal(path, checkpointPath(dir, 'm1'));
  assert.ok(bytes > 9 * 4 * 3, 'parameters and two Adam slots');
  assert.deepEqual(await readdir(dir), ['paramserver-m1.ckpt']);
  // An interrupted earlier write leaves a temp file: reading cleans it up.
  await writeFile(`${path}.tmp-99999`, 'partial');
  assert.ok(await readCheckpoint(dir, 'm1'));
  assert.deepEqual(await readdir(dir), ['paramserver-m1.ckpt']);
});

test('a truncated or foreign checkpoint is an error naming the file and the fix', async () => {
  await tf.setBackend('cpu');
  const dir = await tempDir();
  const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
  runRounds(server, 0, 1);
  const { path, bytes } = await writeCheckpoint(dir, {
    ...server.state(),
    modelId: 'm1',
    spec: SPEC,
    gradientOffsets: [],
    writtenAtMs: 0,
  });
  server.dispose();
  await truncate(path, bytes - 5);
  await assert.rejects(
    readCheckpoint(dir, 'm1'),
    (e) => e instanceof ShapeError && /truncated at slot .*fix:/.test(e.message),
  );
  await writeFile(path, 'hello\n');
  await assert.rejects(
    readCheckpoint(dir, 'm1'),
    (e) => e instanceof ShapeError && /is not a paramserver checkpoint/.test(e.message),
  );
});
