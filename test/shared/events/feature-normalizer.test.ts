import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InputError } from '../../../shared/errors/index.js';
import { FeatureNormalizer } from '../../../shared/events/index.js';

const close = (actual: ArrayLike<number>, expected: number[], tolerance = 1e-6) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)) <= tolerance,
      `[${i}] ${actual[i]} vs ${expected[i]}`,
    );
  }
};

test('normalize uses the statistics of the vectors before it (prequential order)', () => {
  const n = new FeatureNormalizer({ featureSize: 2 });
  // Nothing seen yet: mean 0, scale 1.
  close(n.normalize([3, -1]), [3, -1]);
  n.observe([3, -1]);
  // One vector seen: mean is that vector, scale still 1.
  close(n.normalize([5, -1]), [2, 0]);
  n.observe([5, -1]);
  // Seen [3, 5] and [-1, -1]: mean [4, -1], population variance [1, 0] -> floored.
  const z = n.normalize([6, -1]);
  close(z, [2, 0]);
  assert.ok(z instanceof Float32Array);
});

test('the running statistics equal the batch mean and population variance', () => {
  const n = new FeatureNormalizer({ featureSize: 1 });
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  for (const x of xs) n.observe([x]);
  const { mean, std } = n.statistics();
  close(mean, [5]);
  close(std, [2]);
  assert.equal(n.count, 8);
});

test('a constant feature is floored and does not divide by zero', () => {
  const n = new FeatureNormalizer({ featureSize: 1, varianceFloor: 1e-6 });
  for (let i = 0; i < 10; i++) n.observe([7]);
  close(n.normalize([7]), [0]);
  close(n.normalize([7.001]), [1], 1e-3);
});

test('denormalize maps standardised values back to original units', () => {
  const n = new FeatureNormalizer({ featureSize: 2 });
  for (const v of [
    [1, 10],
    [3, 30],
    [5, 20],
  ])
    n.observe(v);
  const x = [4, 25];
  const back = n.denormalize(n.normalize(x));
  assert.ok(back instanceof Float64Array);
  close(back, x, 1e-5);
});

test('with enabled false both directions are the identity', () => {
  const n = new FeatureNormalizer({ featureSize: 2, enabled: false });
  n.observe([100, 200]);
  n.observe([300, 400]);
  close(n.normalize([1.5, -2]), [1.5, -2]);
  close(n.denormalize([1.5, -2]), [1.5, -2]);
  assert.equal(n.count, 0);
});

test('a vector of the wrong length is rejected naming expected and received lengths', () => {
  const n = new FeatureNormalizer({ featureSize: 3 });
  assert.throws(
    () => n.normalize([1, 2], { line: 5 }),
    (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.line, 5);
      assert.equal(
        error.message,
        'line 5: expected 3 features (input.featureSize), received 2 (fix: send exactly 3 numbers per event, or set input.featureSize to 2)',
      );
      return true;
    },
  );
  assert.throws(() => n.observe([1, 2, 3, 4]), /expected 3 features .* received 4/);
  assert.equal(n.count, 0);
});

test('the statistics survive a checkpoint round trip', () => {
  const n = new FeatureNormalizer({ featureSize: 2 });
  for (const v of [
    [1, 2],
    [3, 5],
    [4, 4],
  ])
    n.observe(v);
  const copy = FeatureNormalizer.fromJSON(JSON.parse(JSON.stringify(n)));
  assert.deepEqual(copy.toJSON(), n.toJSON());
  close(copy.normalize([2, 2]), Array.from(n.normalize([2, 2])));
  assert.throws(() => FeatureNormalizer.fromJSON({ ...n.toJSON(), mean: [1] }), RangeError);
});

test("a missing value (NaN) stays missing and is left out of its feature's statistics only", () => {
  const n = new FeatureNormalizer({ featureSize: 2 });
  n.observe([1, 10]);
  n.observe([3, NaN]);
  n.observe([5, 30]);
  assert.equal(n.meanOf(0), 3);
  assert.equal(n.meanOf(1), 20, 'mean of 10 and 30');
  const z = n.normalize([3, NaN]);
  assert.equal(z[0], 0);
  assert.ok(Number.isNaN(z[1]));
  // Feature 1: population std of {10, 30} is 10.
  assert.ok(Math.abs(n.normalize([0, 40])[1]! - 2) < 1e-6);
});

test('the change statistics are the RMS of the changes per horizon step and feature, and survive a checkpoint', () => {
  const n = new FeatureNormalizer({ featureSize: 2, horizon: 2 });
  assert.equal(n.changes.scale(2, 1), 1, 'no change seen yet: unit 1');
  n.changes.observe(2, 1, 3);
  n.changes.observe(2, 1, -4);
  assert.ok(Math.abs(n.changes.scale(2, 1) - Math.sqrt((9 + 16) / 2)) < 1e-12);
  assert.equal(n.changes.scale(1, 1), 1, 'other horizon steps keep their own');
  const copy = FeatureNormalizer.fromJSON(JSON.parse(JSON.stringify(n)), { horizon: 2 });
  assert.equal(copy.changes.scale(2, 1), n.changes.scale(2, 1));
  assert.throws(
    () => FeatureNormalizer.fromJSON(n.toJSON(), { horizon: 3 }),
    /change statistics for horizon 2 × 2 features, the model forecasts 3 × 2/,
  );
  // A record written before change statistics and per-feature counts: every feature counts every
  // vector, and the change statistics start afresh.
  n.observe([1, 2]);
  n.observe([3, 6]);
  const old = { ...n.toJSON(), changes: undefined, featureCounts: undefined };
  const restored = FeatureNormalizer.fromJSON(old, { horizon: 2 });
  assert.equal(restored.changes.scale(2, 1), 1);
  assert.deepEqual(restored.normalize([2, 4]), n.normalize([2, 4]));
});
