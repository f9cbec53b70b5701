import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import type { Prediction } from '../../../shared/events/prediction.js';
import type { WorkerGradient } from '../../../shared/tbptt/gradient-sink.js';
import { createInProcessBus } from '../../../shared/transport/in-process-bus.js';
import { learnFromTopic, type QueuedEvent } from '../../../services/embedded/learn-from-topic.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';

/** Lets the loop run until it waits again (setImmediate is real; only setTimeout and Date are faked). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
}

function setUp({ maxWaitMs, k1 = 4 }: { maxWaitMs: number; k1?: number }) {
  const trainedSteps: number[] = [];
  const sink = {
    submit(gradient: WorkerGradient) {
      trainedSteps.push(gradient.tokens);
      for (const t of gradient.gradients.values()) t.dispose();
    },
  };
  const tiny = tinyLearner({
    spec: tinyLmSpec(),
    k1,
    k2: 8,
    sink,
    maxWaitMs,
    now: () => Date.now(),
  });
  const bus = createInProcessBus<QueuedEvent>();
  const predictions: Prediction[] = [];
  const loop = learnFromTopic({
    bus,
    topic: 'learn-from-topic.events',
    maxBatchSize: 64,
    learner: tiny.learner,
    encode: ({ event }) =>
      tiny.encode([{ key: event.key, token: Number(event.token), eos: event.eos }])[0],
    onPredictions: async (batch) => {
      predictions.push(...batch);
    },
  });
  let index = 0;
  const send = (key: string, n: number) =>
    bus.producer().send({
      topic: 'learn-from-topic.events',
      messages: Array.from({ length: n }, (_, i) => ({
        key,
        value: { event: { key, token: i % 8, eos: false }, line: index + 1, index: index++ },
      })),
    });
  return { ...tiny, bus, loop, send, predictions, trainedSteps };
}

test('a key that becomes ready and then receives nothing trains when its maxWaitMs is over, not before (fake clock)', async (t) => {
  await tf.setBackend('cpu');
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 10_000 });
  t.after(() => mock.timers.reset());
  const run = setUp({ maxWaitMs: 250 });
  await run.send('quiet', 4);
  await settle();
  assert.equal(run.predictions.length, 4, 'the 4 events were predicted');
  assert.deepEqual(run.trainedSteps, [], 'ready (k1 = 4) but waiting for more keys or its time');
  mock.timers.tick(249);
  await settle();
  assert.deepEqual(run.trainedSteps, [], '1 ms early: still waiting');
  mock.timers.tick(1);
  await settle();
  assert.deepEqual(run.trainedSteps, [4], 'trained at 250 ms with no further event');
  run.bus.close('learn-from-topic.events');
  assert.deepEqual(await run.loop, { keys: 0, steps: 0 }, 'nothing left pending at the end');
  run.model.dispose();
});

test('at the end of input the pending steps of every key are trained before the loop returns', async () => {
  await tf.setBackend('cpu');
  const run = setUp({ maxWaitMs: 60_000 });
  await run.send('a', 6); // one full window of 4 (forced by the 5th event) + 2 pending
  await run.send('b', 3); // 3 pending, never ready
  run.bus.close('learn-from-topic.events');
  const end = await run.loop;
  assert.deepEqual(end, { keys: 2, steps: 5 });
  assert.equal(
    run.trainedSteps.reduce((s, n) => s + n, 0),
    9,
    'each of the 9 steps carried its loss into one gradient',
  );
  run.model.dispose();
});
