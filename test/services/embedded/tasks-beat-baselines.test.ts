import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, interleave, runOnEvents } from '../../support/run-helpers.js';

const small = { hidden: 32, embedding: 16 };

test('lm: the learner beats the uniform byte baseline by a wide margin on a multi-key text stream', async () => {
  const patterns = ['abcd', 'hello world ', 'the cat sat. ', 'xyzzy '];
  const perKey = Array.from({ length: 8 }, (_, k) => {
    const text = patterns[k % patterns.length]!.repeat(400).slice(k, k + 800);
    return [...text].map((ch) => ({ key: `doc-${k}`, token: ch }));
  });
  const { summary, predictions } = await runOnEvents({
    name: 'lm',
    config: {
      task: { type: 'lm' },
      model: { cell: 'lstm', ...small },
      tbptt: { k1: 4, k2: 12, maxKeys: 8 },
      optimizer: { learningRate: 0.02 },
    },
    events: interleave(perKey),
  });
  assert.equal(summary.events, 6400);
  assert.equal(summary.keys, 8);
  assert.equal(predictions.length, 6400, 'one prediction per event');
  assert.equal(summary.baselines.bitsPerToken, 8);
  assert.ok(
    summary.metrics.bitsPerToken! < 3,
    `bits per token ${summary.metrics.bitsPerToken} should be far below the uniform 8`,
  );
});

test('tag: per-step tags beat the majority baseline by at least 25 points', async () => {
  const rng = createRng(3);
  const perKey = Array.from({ length: 12 }, (_, k) =>
    Array.from({ length: 220 }, () => {
      const token = Math.floor(rng.uniform() * 6);
      return {
        key: `s${k}`,
        token,
        label: token % 3 === 0 ? 'zero' : token % 3 === 1 ? 'one' : 'two',
      };
    }),
  );
  const { summary } = await runOnEvents({
    name: 'tag',
    config: {
      task: { type: 'tag', labels: ['zero', 'one', 'two'] },
      input: { tokenizer: 'ids', vocabSize: 6 },
      model: { cell: 'gru', ...small },
      tbptt: { k1: 8, k2: 8, maxKeys: 12 },
      optimizer: { learningRate: 0.01 },
    },
    events: interleave(perKey),
  });
  assert.ok(
    summary.metrics.accuracy! >= summary.baselines.accuracy! + 0.25,
    `accuracy ${summary.metrics.accuracy} vs majority ${summary.baselines.accuracy}`,
  );
  assert.ok(summary.metrics.macroF1! > 0.6, `macro-F1 ${summary.metrics.macroF1}`);
});

test('classify: the class at eos, which needs the whole sequence, beats the majority baseline by at least 15 points', async () => {
  const rng = createRng(5);
  const perKey = Array.from({ length: 12 }, (_, k) => {
    const events: object[] = [];
    for (let s = 0; s < 50; s++) {
      const drift = rng.uniform() < 0.5 ? -0.8 : 0.8;
      let sum = 0;
      for (let t = 0; t < 6; t++) {
        const x = drift + rng.normal();
        sum += x;
        const eos = t === 5;
        events.push({
          key: `k${k}`,
          features: [x, rng.normal()],
          eos,
          ...(eos ? { label: sum > 0 ? 'up' : 'down' } : {}),
        });
      }
    }
    return events;
  });
  const { summary } = await runOnEvents({
    name: 'classify',
    config: {
      task: { type: 'classify' },
      input: { kind: 'features', featureSize: 2 },
      model: { cell: 'lstm', ...small },
      tbptt: { k1: 6, k2: 6, maxKeys: 12 },
      optimizer: { learningRate: 0.01 },
    },
    events: interleave(perKey),
  });
  assert.equal(summary.events, 12 * 50 * 6);
  assert.ok(
    summary.metrics.accuracy! >= summary.baselines.accuracy! + 0.15,
    `accuracy ${summary.metrics.accuracy} vs majority ${summary.baselines.accuracy}`,
  );
});

test('forecast: next-vector forecasts beat the last-value baseline, in original units', async () => {
  const perKey = Array.from({ length: 8 }, (_, k) =>
    Array.from({ length: 400 }, (_, t) => ({
      key: `sensor-${k}`,
      features: [10 + 3 * Math.sin(0.5 * t + k), -2 + 3 * Math.cos(0.5 * t + k)],
    })),
  );
  const { summary, predictions } = await runOnEvents({
    name: 'forecast',
    config: {
      task: { type: 'forecast' },
      input: { kind: 'features', featureSize: 2 },
      model: { cell: 'rnn', ...small },
      tbptt: { k1: 8, k2: 16, maxKeys: 8 },
      optimizer: { learningRate: 0.01 },
    },
    events: interleave(perKey),
  });
  const last = predictions.at(-1)! as { forecast: number[] };
  assert.ok(
    Math.abs(last.forecast[0]! - 10) < 5,
    `forecasts are in original units (got ${last.forecast})`,
  );
  assert.ok(
    summary.metrics.mse! < 0.5 * summary.baselines.mse!,
    `MSE ${summary.metrics.mse} vs last-value ${summary.baselines.mse}`,
  );
});

/**
 * MSE of each horizon step h, of the model and of last-value, recomputed from the prediction lines
 * alone: the line at a key's event i forecasts its event i + h - 1; last-value forecasts the value
 * of event i - 1 (scored where that exists).
 */
function horizonMsesFromLines(
  lines: ReadonlyArray<Record<string, unknown>>,
  horizon: number,
): Array<{ model: number; lastValue: number }> {
  const byKey = new Map<string, Array<{ forecasts: number[][]; actual: number[] }>>();
  for (const line of lines) {
    const list = byKey.get(line.key as string) ?? [];
    list.push({
      forecasts: (line.forecasts as number[][] | undefined) ?? [line.forecast as number[]],
      actual: line.actual as number[],
    });
    byKey.set(line.key as string, list);
  }
  return Array.from({ length: horizon }, (_, i) => {
    const h = i + 1;
    let model = 0;
    let lastValue = 0;
    let n = 0;
    for (const list of byKey.values())
      for (let t = 1; t + h - 1 < list.length; t++) {
        const actual = list[t + h - 1]!.actual;
        actual.forEach((y, f) => {
          model += (list[t]!.forecasts[i]![f]! - y) ** 2;
          lastValue += (list[t - 1]!.actual[f]! - y) ** 2;
          n++;
        });
      }
    return { model: model / n, lastValue: lastValue / n };
  });
}

test('forecast: on random walks with a per-key drift the residual head beats last-value clearly one and three steps ahead', async () => {
  const rng = createRng(11);
  // Each key: a random walk whose steps have a mean of its own (the drift, ±0.3..±1.0, what the
  // network must learn from the key's history) and noise 0.5. Last-value misses the drift (its
  // error grows as h²·drift²), the best forecast only the noise (h·0.25).
  const perKey = Array.from({ length: 8 }, (_, k) => {
    let level = 20 * rng.normal();
    const drift = (k % 2 === 0 ? 1 : -1) * (0.3 + 0.1 * k);
    return Array.from({ length: 400 }, () => {
      level += drift + 0.5 * rng.normal();
      return { key: `walk-${k}`, features: [level, 0.5 * level + 1 + 0.2 * rng.normal()] };
    });
  });
  const horizon = 3;
  const { summary, predictions } = await runOnEvents({
    name: 'forecast-drift',
    config: {
      task: { type: 'forecast', horizon },
      input: { kind: 'features', featureSize: 2 },
      model: { cell: 'lstm', ...small },
      tbptt: { k1: 8, k2: 16, maxKeys: 8 },
      optimizer: { learningRate: 0.01 },
    },
    events: interleave(perKey),
  });
  const rows = summary.metrics.perHorizon!;
  assert.deepEqual(
    rows.map((r) => r.h),
    [1, 2, 3],
  );
  assert.equal((predictions[0]!.forecasts as number[][]).length, horizon, 'H vectors per line');
  const independent = horizonMsesFromLines(predictions, horizon);
  rows.forEach((row, i) => {
    const close = (a: number, b: number, what: string) =>
      assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, b), `h=${row.h} ${what}: ${a} vs ${b}`);
    close(row.mse, independent[i]!.model, 'model MSE');
    close(row.lastValueMse, independent[i]!.lastValue, 'last-value MSE');
    close(row.relativeMse, row.mse / row.lastValueMse, 'relative MSE');
    close(row.mase, row.mae / row.lastValueMae, 'MASE');
  });
  assert.equal(summary.metrics.mse, rows[0]!.mse, 'metrics.mse is the one-step MSE');
  for (const h of [1, 3]) {
    const row = rows[h - 1]!;
    assert.ok(row.relativeMse < 0.8, `h=${h}: MSE ${row.mse} vs last-value ${row.lastValueMse}`);
    assert.ok(row.mase < 1, `h=${h}: MASE ${row.mase}`);
  }
});
