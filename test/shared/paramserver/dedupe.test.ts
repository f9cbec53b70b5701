import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import {
  ParameterServer,
  WorkerLiveness,
  WorkerProgress,
} from '../../../shared/paramserver/index.js';
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
  for (const step of [1, 2, 3, 5, 9]) progress.record('w', step, 1_000 + step);
  assert.deepEqual(progress.snapshot(), { w: { highest: 9, recent: [9], processedAtMs: 1_009 } });
  assert.equal(progress.has('w', 5), true, 'at or below highest − window');
  assert.equal(progress.has('w', 7), false, 'a gap inside the window is still to come');
  progress.record('w', 7, 1_010);
  assert.equal(progress.has('w', 7), true);
  assert.equal(progress.has('other', 1), false);
  const copy = new WorkerProgress({ window: 4, snapshot: progress.snapshot() });
  assert.deepEqual(copy.snapshot(), progress.snapshot());
});

test('worker progress and liveness keep at most maxWorkers workers, forgetting the one heard from longest ago', () => {
  const progress = new WorkerProgress({ maxWorkers: 3 });
  const liveness = new WorkerLiveness({ timeoutMs: 60_000, maxWorkers: 3 });
  for (const [workerId, atMs] of [
    ['a', 10],
    ['b', 20],
    ['c', 30],
  ] as const) {
    progress.record(workerId, 1, atMs);
    liveness.seen(workerId, atMs);
  }
  progress.record('a', 2, 40); // a is the most recent now
  liveness.seen('a', 40);
  progress.record('d', 1, 50);
  liveness.seen('d', 50);
  assert.deepEqual(Object.keys(progress.snapshot()), ['a', 'c', 'd'], 'b forgotten');
  assert.deepEqual(Object.keys(liveness.snapshot()), ['a', 'c', 'd']);
  assert.equal(progress.has('b', 1), false);
  // From a snapshot of more workers than fit (e.g. a lower bound), the oldest go first as well.
  const trimmed = new WorkerProgress({ maxWorkers: 2, snapshot: progress.snapshot() });
  assert.deepEqual(Object.keys(trimmed.snapshot()), ['a', 'd']);
  assert.throws(() => new WorkerProgress({ maxWorkers: 0 }), RangeError);
});

test('a server fed gradients under ever new worker ids remembers a bounded number, and a restored one forgets the same ones', () => {
  const options = serverOptions({ staleness: 0, maxTrackedWorkers: 8 });
  const server = ParameterServer.create({ options, state: initialState() });
  server.offer(gradient({ workerId: 'w0', step: 1, paramVersion: 0 }));
  server.applyRound('all-live');
  // Stale gradients: dropped, but each (worker, step) is remembered as processed.
  const offerStale = (target: ParameterServer, from: number, to: number) => {
    for (let i = from; i < to; i++)
      target.offer({
        ...gradient({ workerId: `restarted-${i}`, step: 1, paramVersion: 0 }),
        receivedAtMs: 1_000 + i,
      });
  };
  offerStale(server, 0, 100);
  const state = server.state();
  assert.equal(Object.keys(state.progress!).length, 8);
  assert.equal(Object.keys(state.lastSeenMs!).length, 8);
  assert.ok('restarted-99' in state.progress! && !('restarted-91' in state.progress!));
  assert.equal(server.hasSeen('restarted-99', 1), true, 'the recent ones still deduplicate');

  const restored = ParameterServer.create({ options, state });
  offerStale(server, 100, 110);
  offerStale(restored, 100, 110);
  assert.deepEqual(restored.state().progress, server.state().progress);
  assert.deepEqual(restored.state().lastSeenMs, server.state().lastSeenMs);
  server.dispose();
  restored.dispose();
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
