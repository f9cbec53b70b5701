import assert from 'node:assert/strict';
import { test } from 'node:test';

import { defaultConfig } from '../../../shared/config/index.js';
import {
  createLearningRateSchedule,
  learningRateScheduleFromConfig,
} from '../../../shared/optim/learning-rate-schedule.js';

const base = { learningRate: 0.01, warmupSteps: 0, decaySteps: 100, minLearningRate: 0.001 };

test('the default configuration gives the constant optimizer.learningRate', () => {
  const config = defaultConfig();
  const schedule = learningRateScheduleFromConfig(config.optimizer);
  for (const step of [0, 1, 10, 1_000, 1_000_000])
    assert.equal(schedule(step), config.optimizer.learningRate);
});

test('warm-up ramps linearly to the peak over warmupSteps, then decay none holds it', () => {
  const schedule = createLearningRateSchedule({ ...base, warmupSteps: 4, decay: 'none' });
  assert.deepEqual(
    [0, 1, 2, 3, 4, 50].map((s) => schedule(s)),
    [0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01],
  );
});

test('linear and cosine decay reach minLearningRate after decaySteps and hold it', () => {
  const linear = createLearningRateSchedule({ ...base, warmupSteps: 10, decay: 'linear' });
  const cosine = createLearningRateSchedule({ ...base, warmupSteps: 10, decay: 'cosine' });
  // t = step + 1; p = (t - 10) / 100.
  assert.equal(linear(9), 0.01);
  assert.ok(Math.abs(linear(59) - (0.001 + 0.009 * 0.5)) < 1e-15);
  assert.equal(linear(109), 0.001);
  assert.equal(linear(5_000), 0.001);
  assert.equal(cosine(9), 0.01);
  assert.ok(Math.abs(cosine(59) - (0.001 + 0.009 * 0.5)) < 1e-15, 'half way: cos(π/2) = 0');
  assert.ok(Math.abs(cosine(109) - 0.001) < 1e-15);
  assert.ok(cosine(30) < linear(30) + 0.009 * 0.25, 'cosine starts slower than linear');
  assert.ok(cosine(30) > linear(30));
});

test('inverse-sqrt decays as sqrt(warmup / t) after warm-up, never below the floor', () => {
  const schedule = createLearningRateSchedule({ ...base, warmupSteps: 4, decay: 'inverse-sqrt' });
  assert.equal(schedule(3), 0.01);
  assert.ok(Math.abs(schedule(15) - 0.01 * Math.sqrt(4 / 16)) < 1e-15);
  assert.equal(schedule(1_000_000), 0.001);
});
