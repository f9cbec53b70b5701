import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ForecastScores } from '../../../shared/evaluation/index.js';

test('each horizon step is scored when its event arrives, against last-value and running mean on the same values', () => {
  const scores = new ForecastScores({ horizon: 2 });
  const line = (actual: number, forecasts: [number, number], eos = false) =>
    scores.observe({
      key: 'a',
      forecasts: [[forecasts[0]], [forecasts[1]]],
      actual: [actual],
      eos,
    });
  line(1, [0, 0]); // line 1: nothing to score, the key has no last value yet
  line(3, [2, 2]); // line 2, h=1: model 2, last value 1, mean 1 vs 3
  line(NaN, [4, 5]); // line 3: missing, nothing scored (nor line 2's h=2)
  line(4, [9, 9]); // line 4, h=1: 9, last 3, mean 2 vs 4; line 3's h=2: 5, last 3, mean 2 vs 4
  const [h1, h2] = scores.perHorizon();
  // h=1: model errors 1 and 5, last-value 2 and 1, mean 2 and 2
  assert.deepEqual(
    { count: h1!.count, mse: h1!.mse, mae: h1!.mae, lv: h1!.lastValueMse, lvMae: h1!.lastValueMae },
    { count: 2, mse: (1 + 25) / 2, mae: 3, lv: (4 + 1) / 2, lvMae: 1.5 },
  );
  assert.equal(h1!.runningMeanMse, (4 + 4) / 2);
  assert.equal(h1!.relativeMse, 13 / 2.5);
  assert.equal(h1!.mase, 3 / 1.5);
  // h=2: only line 3's forecast of event 4
  assert.deepEqual(
    { count: h2!.count, mse: h2!.mse, lv: h2!.lastValueMse, rm: h2!.runningMeanMse },
    { count: 1, mse: 1, lv: 1, rm: 4 },
  );
});

test("no forecast is scored across a key's eos, and keys are scored apart", () => {
  const scores = new ForecastScores({ horizon: 1 });
  scores.observe({ key: 'a', forecasts: [[0]], actual: [1], eos: false });
  scores.observe({ key: 'b', forecasts: [[0]], actual: [50], eos: false });
  scores.observe({ key: 'a', forecasts: [[2]], actual: [2], eos: true }); // scored: 0 vs 1
  scores.observe({ key: 'a', forecasts: [[7]], actual: [9], eos: false }); // new sequence: not scored
  const [h1] = scores.perHorizon();
  assert.equal(h1!.count, 1);
  assert.equal(h1!.mse, 0);
  assert.equal(h1!.lastValueMse, 1);
});
