import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import { ParameterServer, WorkerProgress } from '../../../shared/paramserver/index.js';
import { gradient, initialState, serverOptions } from '../../support/paramserver/gradients.js';

await tf.setBackend('cpu');

test('a (worker, step) offered twice is applied once: while pending, after applying, and after a restore', () => {
  const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
  const g = gradient({ workerId: 'w1', step: 3, paramVersion: 0 });
  assert.equal(server.offer(g).kind, 'accepted');
  assert.equal(server.offer(g).kind, 'duplicate', 'pending');
  assert.equal(server.applyRound('all-live').gradients, 1);
  assert.equal(server.offer({ ...g, paramVersion: 1 }).kind, 'duplicate', 'applied');

  const restored = ParameterServer.create({ options: serverOptions(), state: server.state() });
  assert.equal(restored.offer({ ...g, paramVersion: 1 }).kind, 'duplicate', 'after a restore');
  assert.equal(
    restored.offer(gradient({ workerId: 'w1', step: 4, paramVersion: 1 })).kind,
    'accepted',
    'the next step of the same worker is new',
  );
  server.dispose();
  restored.dispose();
});

test('a stale gradient dropped once is a duplicate when re-read, not counted as stale again', () => {
  const server = ParameterServer.create({
    options: serverOptions({ staleness: 0 }),
    state: initialState(),
  });
  server.offer(gradient({ workerId: 'w1', step: 1, paramVersion: 0 }));
  server.applyRound('all-live');
  const late = gradient({ workerId: 'w2', step: 1, paramVersion: 0 });
  assert.equal(server.offer(late).kind, 'dropped');
  assert.equal(server.offer(late).kind, 'duplicate');
  server.dispose();
});

test('worker progress stays bounded: steps far below the highest count as seen, recent ones by set', () => {
  const progress = new WorkerProgress({ window: 4 });
  for (const step of [1, 2, 3, 5, 9]) progress.record('w', step);
  assert.deepEqual(progress.snapshot(), { w: { highest: 9, recent: [9] } });
  assert.equal(progress.has('w', 5), true, 'at or below highest − window');
  assert.equal(progress.has('w', 7), false, 'a gap inside the window is still to come');
  progress.record('w', 7);
  assert.equal(progress.has('w', 7), true);
  assert.equal(progress.has('other', 1), false);
  const copy = new WorkerProgress({ window: 4, snapshot: progress.snapshot() });
  assert.deepEqual(copy.snapshot(), progress.snapshot());
});

test('the server releases a gradient it drops at once, and an accepted one after its round', () => {
  const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
  const released: string[] = [];
  const offer = (workerId: string, step: number) =>
    server.offer({
      ...gradient({ workerId, step, paramVersion: 0 }),
      release: () => released.push(`${workerId}/${step}`),
    }).kind;
  assert.equal(offer('w1', 1), 'accepted');
  assert.equal(offer('w1', 1), 'duplicate');
  assert.deepEqual(released, ['w1/1'], 'the duplicate, not the pending original');
  server.applyRound('all-live');
  assert.deepEqual(released, ['w1/1', 'w1/1'], 'the original once its round is applied');
  assert.equal(offer('w2', 1), 'accepted');
  server.dispose();
  assert.deepEqual(released, ['w1/1', 'w1/1', 'w2/1'], 'pending ones on dispose');
});
