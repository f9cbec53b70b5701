import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import { ParameterServer } from '../../../shared/paramserver/index.js';
import { gradient, initialState, serverOptions } from '../../support/paramserver/gradients.js';

await tf.setBackend('cpu');

const options = serverOptions({ mode: 'sync', roundDeadlineMs: 1_000, workerTimeoutMs: 10_000 });

/** A server that has heard from w1, w2, w3 (one round at t = 0..2 ms). */
function withThreeLiveWorkers() {
  const server = ParameterServer.create({ options, state: initialState() });
  ['w1', 'w2', 'w3'].forEach((workerId, i) =>
    server.offer(gradient({ workerId, step: 1, paramVersion: 0, receivedAtMs: i })),
  );
  assert.equal(server.dueRound({ nowMs: 3, arrivalsDone: false }), 'all-live');
  server.applyRound('all-live');
  return server;
}

test('a sync round closes as soon as every live worker reported on the current version', () => {
  const server = withThreeLiveWorkers();
  server.offer(gradient({ workerId: 'w1', step: 2, paramVersion: 1, receivedAtMs: 100 }));
  server.offer(gradient({ workerId: 'w2', step: 2, paramVersion: 1, receivedAtMs: 101 }));
  assert.equal(server.dueRound({ nowMs: 102, arrivalsDone: true }), undefined, 'w3 is missing');
  // A stale gradient of w3 rides along but is not w3's report for version 1.
  server.offer(gradient({ workerId: 'w3', step: 2, paramVersion: 0, receivedAtMs: 103 }));
  assert.equal(server.dueRound({ nowMs: 104, arrivalsDone: true }), undefined);
  server.offer(gradient({ workerId: 'w3', step: 3, paramVersion: 1, receivedAtMs: 105 }));
  assert.equal(server.dueRound({ nowMs: 106, arrivalsDone: false }), 'all-live');
  const report = server.applyRound('all-live');
  assert.equal(report.gradients, 4);
  assert.deepEqual(report.workers, ['w1', 'w2', 'w3']);
  server.dispose();
});

test('a sync round closes at the deadline with the gradients it has, and not before', () => {
  const server = withThreeLiveWorkers();
  server.offer(gradient({ workerId: 'w2', step: 2, paramVersion: 1, receivedAtMs: 500 }));
  assert.equal(server.nextDeadlineMs(), 1_500);
  assert.equal(server.dueRound({ nowMs: 1_499, arrivalsDone: true }), undefined);
  assert.equal(server.dueRound({ nowMs: 1_500, arrivalsDone: true }), 'deadline');
  assert.equal(server.applyRound('deadline').gradients, 1);
  assert.equal(server.dueRound({ nowMs: 5_000, arrivalsDone: true }), undefined, 'nothing pending');
  server.dispose();
});

test('a worker silent for longer than workerTimeoutMs is no longer waited for', () => {
  const server = withThreeLiveWorkers();
  server.offer(gradient({ workerId: 'w1', step: 2, paramVersion: 1, receivedAtMs: 9_000 }));
  server.offer(gradient({ workerId: 'w2', step: 2, paramVersion: 1, receivedAtMs: 9_500 }));
  assert.deepEqual(server.liveWorkers(9_900), ['w1', 'w2', 'w3']);
  assert.equal(server.dueRound({ nowMs: 9_900, arrivalsDone: true }), undefined);
  // w3 last sent at t = 2: at t = 10,003 it is beyond the 10 s timeout.
  assert.deepEqual(server.liveWorkers(10_003), ['w1', 'w2']);
  assert.equal(server.dueRound({ nowMs: 10_003, arrivalsDone: true }), 'all-live');
  server.dispose();
});

test('async mode applies every gradient as an update of its own as soon as it arrives, the later one one version staler', () => {
  const server = ParameterServer.create({
    options: serverOptions({ mode: 'async' }),
    state: initialState(),
  });
  server.offer(gradient({ workerId: 'w1', step: 1, paramVersion: 0 }));
  assert.equal(server.dueRound({ nowMs: 0, arrivalsDone: false }), 'arrival');
  const first = server.applyRound('arrival');
  assert.equal(first.gradients, 1);
  assert.equal(first.version, 1);
  server.offer(gradient({ workerId: 'w2', step: 1, paramVersion: 0 }));
  assert.equal(server.dueRound({ nowMs: 0, arrivalsDone: false }), 'arrival');
  const second = server.applyRound('arrival');
  assert.deepEqual([second.gradients, second.version, second.meanStaleness], [1, 2, 1]);
  server.dispose();
});

test('right after a first start, minWorkers keeps the first gradient from closing a round on its own', () => {
  const server = ParameterServer.create({
    options: serverOptions({ mode: 'sync', minWorkers: 2, roundDeadlineMs: 1_000 }),
    state: initialState(),
  });
  server.offer(gradient({ workerId: 'w1', step: 1, paramVersion: 0, receivedAtMs: 0 }));
  assert.deepEqual(server.liveWorkers(1), ['w1']);
  assert.equal(server.dueRound({ nowMs: 1, arrivalsDone: true }), undefined, 'one of at least two');
  server.offer(gradient({ workerId: 'w2', step: 1, paramVersion: 0, receivedAtMs: 2 }));
  assert.equal(server.dueRound({ nowMs: 3, arrivalsDone: true }), 'all-live');
  server.dispose();
});
