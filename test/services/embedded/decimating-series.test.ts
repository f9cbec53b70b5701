import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecimatingSeries } from '../../../services/embedded/decimating-series.js';

/** Feeds x = 1..n, adding a point whenever one is due, as the run does with event counts. */
function sampled(n: number, capacity: number): { xs: number[]; samples: number } {
  const series = new DecimatingSeries<number>({ capacity, initialStep: 1 });
  let samples = 0;
  for (let x = 1; x <= n; x++) {
    if (series.due(x)) {
      series.add(x, x);
      samples++;
    }
  }
  return { xs: series.points, samples };
}

test('below its capacity the series keeps a point at every step', () => {
  assert.deepEqual(sampled(6, 8).xs, [1, 2, 3, 4, 5, 6]);
});

test('past its capacity it keeps every other point and doubles the step, so points stay evenly spread', () => {
  // capacity 4: 1..5 -> keep 2, 4 (step 2) -> 6, 8, 10 -> keep 4, 8 (step 4) -> 12, 16, 20 -> ...
  assert.deepEqual(sampled(5, 4).xs, [2, 4]);
  assert.deepEqual(sampled(10, 4).xs, [4, 8]);
  assert.deepEqual(sampled(20, 4).xs, [8, 16]);
  const { xs, samples } = sampled(100_000, 64);
  assert.ok(xs.length <= 64 && xs.length > 32, `${xs.length} points`);
  const gaps = new Set(xs.slice(1).map((x, i) => x - xs[i]!));
  assert.equal(gaps.size, 1, 'one spacing');
  assert.equal(xs[0], [...gaps][0], 'from the start of the stream');
  // Each doubling costs capacity / 2 new samples: about 32 * log2(100000 / 64) ≈ 340 in all.
  assert.ok(samples < 64 + 32 * Math.ceil(Math.log2(100_000 / 32)), `${samples} samples`);
});

test('end() closes the series on the final point, replacing a sample taken at the same x', () => {
  const series = new DecimatingSeries<string>({ capacity: 8, initialStep: 2 });
  series.add(2, 'sample at 2');
  series.add(4, 'sample at 4');
  series.end(4, 'final at 4');
  assert.deepEqual(series.points, ['sample at 2', 'final at 4']);
  series.end(5, 'final at 5');
  assert.deepEqual(series.points, ['sample at 2', 'final at 4', 'final at 5']);
});

test('a capacity or step that cannot sample is refused with the value', () => {
  assert.throws(() => new DecimatingSeries({ capacity: 1, initialStep: 1 }), /capacity = 1/);
  assert.throws(() => new DecimatingSeries({ capacity: 4, initialStep: 0 }), /initialStep = 0/);
});
