import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import type { WorkerGradient } from '../../../shared/tbptt/gradient-sink.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';

/** Four keys round-robin: every key's window of k1 = 4 ends in the same cycle. */
const events = Array.from({ length: 64 }, (_, i) => ({
  key: `k${i % 4}`,
  token: (i * 5) % 8,
  eos: false,
}));

/** Feeds the events in runs of the given lengths; returns the keys each training step took. */
async function stepSizes(runLengths: readonly number[]): Promise<number[]> {
  await tf.setBackend('cpu');
  const steps: number[] = [];
  const sink = {
    submit(gradient: WorkerGradient) {
      steps.push(gradient.tokens / 4);
      for (const t of gradient.gradients.values()) t.dispose();
    },
  };
  const run = tinyLearner({ spec: tinyLmSpec(), k1: 4, k2: 4, sink });
  const encoded = run.encode(events);
  let start = 0;
  for (const length of runLengths) {
    await run.learner.process(encoded.slice(start, start + length));
    start += length;
  }
  run.model.dispose();
  return steps;
}

test('a training step takes every key whose window is complete, wherever the processed runs of events start and end', async () => {
  // Whole, and cut into runs that start mid-cycle (the boundaries batches happen to have).
  const whole = await stepSizes([64]);
  const cut = await stepSizes([6, 7, 18, 3, 30]);
  assert.deepEqual(whole, [4, 4, 4]);
  assert.deepEqual(cut, whole);
});

test('with stopAfterTrainStep the learner returns right after a training step, before the event that forced it', async () => {
  await tf.setBackend('cpu');
  let gradients = 0;
  const sink = {
    submit(gradient: WorkerGradient) {
      gradients++;
      for (const t of gradient.gradients.values()) t.dispose();
    },
  };
  const run = tinyLearner({ spec: tinyLmSpec(), k1: 4, k2: 4, sink });
  const encoded = run.encode(events);
  // 16 events complete every key's first window; the 17th (k0 again) forces the step.
  const first = await run.learner.process(encoded, { stopAfterTrainStep: true });
  assert.equal(first.length, 16);
  assert.equal(gradients, 1);
  const rest = await run.learner.process(encoded.slice(16), { stopAfterTrainStep: true });
  assert.equal(rest.length, 16, 'the next run again stops at the next window');
  assert.equal(gradients, 2);
  assert.equal(rest[0]!.index, encoded[16]!.index);
  run.model.dispose();
});
