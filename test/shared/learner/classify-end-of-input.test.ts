import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { CapturingSink } from '../../support/capture-sink.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';

test('classify trains nothing before eos and at the end of input counts the steps of sequences whose eos never came instead of training them', async () => {
  await tf.setBackend('cpu');
  const sink = new CapturingSink();
  const spec = tinyLmSpec({ task: 'classify', outputSize: 2 });
  const run = tinyLearner({ spec, k1: 2, k2: 2, sink });
  // Two keys, 30 and 25 steps, no eos: fifteen k1 windows each under truncated BPTT, none here.
  const events = Array.from({ length: 55 }, (_, i) => ({
    key: i < 30 ? 'open-a' : 'open-b',
    token: i % 8,
  }));
  await run.learner.process(run.encode(events));
  assert.equal(run.learner.readyKeys, 0, 'no key is ready before its eos');
  const { keys, steps } = await run.learner.finish();
  assert.deepEqual({ keys, steps }, { keys: 0, steps: 0 });
  assert.equal(sink.received.length, 0, 'no window without a loss step was trained');
  assert.equal(run.learner.untrainedStepsWithoutEos, 55);
  assert.equal(run.learner.pendingSteps(), 55);
  run.model.dispose();
});
