import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MajorityClassBaseline, uniformBitsPerToken } from '../../../shared/evaluation/index.js';

test('the uniform baseline is log2 of the vocabulary size', () => {
  assert.equal(uniformBitsPerToken(256), 8);
  assert.equal(uniformBitsPerToken(2), 1);
  assert.throws(() => uniformBitsPerToken(0), RangeError);
});

test('the majority baseline predicts the most frequent class seen before each label', () => {
  const b = new MajorityClassBaseline();
  assert.equal(b.predict(), undefined);
  // predictions: none, 0, 0, 0, 0 -> hits on the 2nd, 4th and 5th labels.
  for (const label of [0, 0, 1, 0, 0]) b.observe(label);
  assert.equal(b.count, 5);
  assert.equal(b.accuracy, 3 / 5);
  assert.equal(b.predict(), 0);
});

test('on a tie the majority baseline keeps the class that reached the count first', () => {
  const b = new MajorityClassBaseline();
  b.observe(4);
  b.observe(7);
  assert.equal(b.predict(), 4);
  b.observe(7);
  assert.equal(b.predict(), 7);
});
