import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ClassificationMetrics } from '../../../shared/evaluation/index.js';

const near = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} vs ${expected}`);

test('accuracy and macro-F1 of a small confusion match the hand computation', () => {
  const m = new ClassificationMetrics();
  // [predicted, actual]
  for (const [p, a] of [
    [0, 0],
    [0, 0],
    [1, 0],
    [1, 1],
    [2, 1],
    [0, 2],
  ] as const)
    m.observe(p, a);
  // class 0: tp 2, fp 1, fn 1 -> F1 4/6; class 1: tp 1, fp 1, fn 1 -> 1/2; class 2: tp 0 -> 0.
  near(m.accuracy, 3 / 6);
  near(m.macroF1, (2 / 3 + 1 / 2 + 0) / 3);
  assert.equal(m.count, 6);
  assert.deepEqual(m.perClass().get(0), { tp: 2, fp: 1, fn: 1 });
});

test('a class that is only predicted counts in macro-F1 with F1 zero', () => {
  const m = new ClassificationMetrics();
  m.observe(3, 0);
  m.observe(0, 0);
  // class 0: tp 1, fn 1 -> 2/3; class 3: fp 1 -> 0.
  near(m.macroF1, (2 / 3 + 0) / 2);
  near(m.accuracy, 1 / 2);
});

test('no prediction is a miss for the target class without a false positive elsewhere', () => {
  const m = new ClassificationMetrics();
  m.observe(undefined, 1);
  m.observe(1, 1);
  // class 1: tp 1, fn 1 -> 2/3, the only class.
  near(m.macroF1, 2 / 3);
  near(m.accuracy, 1 / 2);
});

test('perfect predictions score 1 and no pairs score NaN', () => {
  const m = new ClassificationMetrics();
  assert.ok(Number.isNaN(m.accuracy));
  assert.ok(Number.isNaN(m.macroF1));
  m.observe(0, 0);
  m.observe(5, 5);
  assert.equal(m.accuracy, 1);
  assert.equal(m.macroF1, 1);
});

test('a windowed instance scores only the last windowSize pairs', () => {
  const m = new ClassificationMetrics({ windowSize: 2 });
  m.observe(0, 0);
  m.observe(1, 1);
  m.observe(1, 0);
  // window: (1,1), (1,0). class 1: tp 1, fp 1 -> 2/3; class 0: fn 1 -> 0.
  assert.equal(m.count, 2);
  near(m.accuracy, 1 / 2);
  near(m.macroF1, 1 / 3);
  m.observe(2, 2);
  m.observe(2, 2);
  // Classes 0 and 1 have left the window entirely.
  assert.equal(m.macroF1, 1);
  assert.deepEqual([...m.perClass().keys()], [2]);
});

test('a class id that is not a non-negative integer is a programming error', () => {
  const m = new ClassificationMetrics();
  assert.throws(() => m.observe(0, -1), RangeError);
  assert.throws(() => m.observe(0.5, 1), RangeError);
});

test('per-class precision, recall, F1 and support of a confusion match the hand computation, and average to macro-F1', () => {
  const m = new ClassificationMetrics();
  // [predicted, actual]; class 3 is only predicted, class 2 never predicted, one pair has no prediction.
  for (const [p, a] of [
    [0, 0],
    [0, 0],
    [0, 0],
    [1, 0],
    [1, 1],
    [0, 1],
    [undefined, 1],
    [1, 2],
    [3, 2],
  ] as const)
    m.observe(p, a);
  // Confusion by hand:
  // class 0: predicted 0 four times, right three times -> tp 3, fp 1 (actual 1); targets 4, tp 3 -> fn 1.
  //   precision 3/4, recall 3/4, F1 = 2*3/(2*3+1+1) = 6/8.
  // class 1: predicted 1 three times (actual 0, 1, 2) -> tp 1, fp 2; targets 3 -> fn 2.
  //   precision 1/3, recall 1/3, F1 = 2/(2+2+2) = 1/3.
  // class 2: never predicted -> precision 0 (0/0 reported as 0); targets 2, tp 0 -> recall 0, F1 0.
  // class 3: predicted once, never a target -> precision 0/1 = 0, recall 0 (0/0), F1 0, support 0.
  const rows = m.classScores();
  assert.deepEqual([...rows.keys()].sort(), [0, 1, 2, 3]);
  const expected = new Map([
    [0, { precision: 3 / 4, recall: 3 / 4, f1: 6 / 8, support: 4 }],
    [1, { precision: 1 / 3, recall: 1 / 3, f1: 1 / 3, support: 3 }],
    [2, { precision: 0, recall: 0, f1: 0, support: 2 }],
    [3, { precision: 0, recall: 0, f1: 0, support: 0 }],
  ]);
  for (const [id, want] of expected) {
    const got = rows.get(id)!;
    near(got.precision, want.precision);
    near(got.recall, want.recall);
    near(got.f1, want.f1);
    assert.equal(got.support, want.support);
  }
  // Supports add up to the pairs; macro-F1 is the plain mean of the F1 column over the 4 classes.
  assert.equal(
    [...rows.values()].reduce((s, r) => s + r.support, 0),
    9,
  );
  near(m.macroF1, (6 / 8 + 1 / 3 + 0 + 0) / 4);
  near(m.accuracy, 4 / 9);
});
