import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import type { WorkerGradient } from '../../../shared/tbptt/gradient-sink.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';

/** A sink that records how many loss steps each gradient covered. */
function countingSink(): { tokens: number[]; submit(g: WorkerGradient): void } {
  const tokens: number[] = [];
  return {
    tokens,
    submit(gradient) {
      tokens.push(gradient.tokens);
      for (const t of gradient.gradients.values()) t.dispose();
    },
  };
}

const run = (key: string, n: number, eos = false) =>
  Array.from({ length: n }, (_, i) => ({ key, token: i % 8, eos: eos && i === n - 1 }));

test('a ready key that receives nothing more trains once its maxWaitMs is over, on a fake clock', async () => {
  await tf.setBackend('cpu');
  let nowMs = 1_000;
  const sink = countingSink();
  const { learner, encode, model } = tinyLearner({
    spec: tinyLmSpec(),
    k1: 4,
    k2: 8,
    sink,
    maxWaitMs: 250,
    now: () => nowMs,
  });
  assert.equal(learner.trainingDueInMs(), undefined, 'no key waits yet');
  await learner.process(encode(run('a', 4)));
  assert.equal(learner.readyKeys, 1, 'k1 = 4 new steps: ready');
  assert.equal(sink.tokens.length, 0, 'not trained yet: one ready key of at most 64 per step');
  assert.equal(learner.trainingDueInMs(), 250);
  nowMs += 100;
  assert.equal(learner.trainingDueInMs(), 150);
  assert.equal(await learner.trainDue(), false, 'before its time nothing trains');
  nowMs += 150;
  assert.equal(learner.trainingDueInMs(), 0);
  assert.equal(await learner.trainDue(), true);
  assert.deepEqual(sink.tokens, [4], 'one step over the 4 pending steps');
  assert.equal(learner.readyKeys, 0);
  assert.equal(learner.trainingDueInMs(), undefined);
  model.dispose();
});

test('finish() trains the pending steps of every key, ready or not, and the learner takes no event after it', async () => {
  await tf.setBackend('cpu');
  const sink = countingSink();
  const { learner, encode, model } = tinyLearner({ spec: tinyLmSpec(), k1: 4, k2: 8, sink });
  // a: 4 + 4 + 3 steps (two full windows, 3 pending); b: 2 steps; c: 4 steps (ready, no later
  // event forces its step).
  const events = encode([...run('a', 8), ...run('b', 2), ...run('a', 3), ...run('c', 4)]);
  await learner.process(events);
  const trainedBefore = sink.tokens.reduce((s, t) => s + t, 0);
  assert.equal(trainedBefore, 8, "a's two full windows");
  assert.equal(learner.pendingSteps(), 9);
  const { keys, steps } = await learner.finish();
  assert.equal(steps, 9);
  assert.equal(keys, 3);
  assert.equal(
    sink.tokens.reduce((s, t) => s + t, 0),
    17,
    'every one of the 17 steps carried its loss into exactly one gradient',
  );
  assert.equal(learner.pendingSteps(), 0);
  await assert.rejects(learner.process(encode(run('a', 1))), /after finish/);
  model.dispose();
});
