/**
 * `rnnstream bench train` (bench/train-bench.ts): the benchmark runs the services'
 * training step on the cpu backend, reports a positive token rate, refuses to report a number
 * when a step leaks tensors, and rejects bad options with messages naming the flag and the value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../shared/engine/tf.js';
import { ConfigError } from '../../shared/errors/index.js';
import {
  parseTrainBenchOptions,
  randomByteBatch,
  benchModelSpec,
  runTrainBench,
  TensorLeakError,
  type TrainBenchOptions,
} from '../../bench/train-bench.js';

const quiet = { info: () => {}, warn: () => {} };
const tiny: TrainBenchOptions = {
  cell: 'lstm',
  hidden: 8,
  embedding: 4,
  batch: 2,
  k1: 3,
  k2: 5,
  seconds: 1,
  backend: 'cpu',
  warmupSteps: 1,
  logger: quiet,
};

test('a one-second run on the cpu backend reports a positive token rate counted as batch × k1 per step', async () => {
  const before = tf.memory().numTensors;
  const result = await runTrainBench(tiny);
  assert.equal(result.backend, 'cpu');
  assert.ok(result.steps >= 1, `at least one timed step, got ${result.steps}`);
  assert.ok(
    result.tokensPerSecond > 0 && Number.isFinite(result.tokensPerSecond),
    `tokens/s ${result.tokensPerSecond}`,
  );
  // tokens/s = steps × batch × k1 / seconds, and ms/step agrees with the same clock.
  assert.ok(
    Math.abs(result.tokensPerSecond - (result.steps * tiny.batch * tiny.k1) / result.seconds) <
      1e-6 * result.tokensPerSecond,
  );
  assert.ok(
    Math.abs(result.msPerStep - (result.seconds * 1000) / result.steps) < 1e-6 * result.msPerStep,
  );
  assert.ok(result.seconds >= 1, `timed at least the requested second, got ${result.seconds}`);
  // Random bytes: the cross-entropy starts near ln 256 and cannot drop far below it.
  assert.ok(result.loss > 4 && result.loss < 7, `loss ${result.loss} nats is near ln 256 ≈ 5.55`);
  // lstm: embedding 257×4, kernel 4×32, recurrent 8×32, bias 32, head 8×256 + 256.
  assert.equal(result.parameters, 257 * 4 + 4 * 32 + 8 * 32 + 32 + 8 * 256 + 256);
  // What a run leaves behind must not depend on how many steps it ran (optimizer slots, gradients
  // and batches are freed). ParameterSet currently keeps one handle per initial parameter value
  // (tf.variable(tf.tensor(..)) never frees the tensor), so compare against a one-step run rather than 0.
  const afterLong = tf.memory().numTensors;
  await runTrainBench({ ...tiny, seconds: 0.001, warmupSteps: 0 });
  const afterShort = tf.memory().numTensors;
  assert.equal(
    afterLong - before,
    afterShort - afterLong,
    `a ${result.steps}-step run and a 1-step run leave the same number of tensors`,
  );
  assert.ok(
    afterLong - before <= 6,
    `at most one tensor per parameter (6 for the lstm) is left, got ${afterLong - before}`,
  );
});

test('every cell type runs, including k1 = k2 (loss on every step of the window)', async () => {
  for (const cell of ['gru', 'rnn'] as const) {
    const result = await runTrainBench({
      ...tiny,
      cell,
      k1: 4,
      k2: 4,
      seconds: 0.2,
      warmupSteps: 0,
    });
    assert.ok(result.tokensPerSecond > 0, `${cell}: ${result.tokensPerSecond} tokens/s`);
  }
});

test('a step that leaves one more tensor alive than the step before stops the benchmark with a TensorLeakError', async () => {
  const leaked: tf.Tensor[] = [];
  await assert.rejects(
    runTrainBench({ ...tiny, seconds: 5, onProgress: () => void leaked.push(tf.scalar(1)) }),
    (err: unknown) =>
      err instanceof TensorLeakError && /1 more than after step 1/.test(err.message),
  );
  assert.equal(leaked.length, 1, 'it stops at the first step that leaks, after one warm-up step');
  for (const t of leaked) t.dispose();
});

test('hidden 0 is rejected with a message naming --hidden and the value 0', async () => {
  await assert.rejects(
    runTrainBench({ ...tiny, hidden: 0 }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.includes('--hidden 0 must be a positive integer') &&
      err.message.includes('fix:'),
  );
});

test('k2 smaller than k1 is rejected with a message naming both values and the fix', () => {
  assert.throws(
    () => parseTrainBenchOptions({ ...tiny, k1: 8, k2: 4 }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.includes('--k2 4 is smaller than --k1 8') &&
      err.message.includes('fix: pass --k2 8 or more'),
  );
});

test('every bad option is reported at once, strings from the command line included', () => {
  assert.throws(
    () =>
      parseTrainBenchOptions({
        cell: 'lstn',
        hidden: 'abc',
        embedding: '64',
        batch: '2.5',
        k1: '32',
        k2: '32',
        seconds: '-1',
        backend: 'gpu',
      }),
    (err: unknown) => {
      const m = (err as Error).message;
      return (
        err instanceof ConfigError &&
        m.includes("--cell 'lstn'") &&
        m.includes("--hidden 'abc' must be a positive integer") &&
        m.includes("--batch '2.5' must be a positive integer") &&
        m.includes("--seconds '-1'") &&
        m.includes("--backend 'gpu'")
      );
    },
  );
});

test('command-line strings are parsed into numbers with the documented defaults', () => {
  const o = parseTrainBenchOptions({
    cell: 'gru',
    hidden: '256',
    embedding: '64',
    batch: '64',
    k1: '16',
    k2: '32',
    seconds: '2.5',
    backend: 'cpu',
  });
  assert.deepEqual(o, {
    cell: 'gru',
    backend: 'cpu',
    hidden: 256,
    embedding: 64,
    batch: 64,
    k1: 16,
    k2: 32,
    layers: 1,
    seconds: 2.5,
    warmupSteps: 2,
  });
});

test('the random windows count the loss on the last k1 steps only and targets are the next input byte', () => {
  const spec = benchModelSpec({ cell: 'lstm', hidden: 8, embedding: 4, layers: 1 });
  const b = randomByteBatch({ spec, batch: 3, k1: 2, k2: 5, seed: 9 });
  assert.deepEqual([...b.lossMask.subarray(0, 5)], [0, 0, 0, 1, 1]);
  for (let row = 0; row < 3; row++)
    for (let t = 0; t + 1 < 5; t++)
      assert.equal(b.tokens![row * 5 + t + 1], b.classTargets![row * 5 + t]);
  assert.ok([...b.tokens!].every((v) => v >= 0 && v < 256));
  assert.equal(b.initialState.length, 3 * 16);
});
