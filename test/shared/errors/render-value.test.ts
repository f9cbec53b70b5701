import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { renderValue } from '../../../shared/errors/render-value.js';

test('small values render as JSON.stringify does', () => {
  for (const value of [null, true, 'a "quoted" word', [1, 'b', null], { a: 1, b: [2] }, {}])
    assert.equal(renderValue(value), JSON.stringify(value));
  assert.equal(renderValue(undefined), 'undefined');
  assert.equal(renderValue(NaN), 'NaN');
  assert.equal(renderValue(-Infinity), '-Infinity');
});

test('long values are cut to maxChars with an ellipsis', () => {
  assert.equal(renderValue('x'.repeat(100)), `"${'x'.repeat(56)}...`);
  assert.equal(renderValue('x'.repeat(100)).length, 60);
  assert.equal(renderValue(new Array(1000).fill(7), { maxChars: 10 }), '[7,7,7,...');
});

test('any value, however deep or large, renders without throwing, within maxChars, in bounded time', () => {
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  let deepObject: unknown = {};
  for (let i = 0; i < 100_000; i++) deepObject = { a: deepObject };
  const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
  const throwing = Object.defineProperty({}, 'x', {
    enumerable: true,
    get() {
      throw new Error('boom');
    },
  });
  for (const value of [deep, deepObject, wide, 'k'.repeat(5_000_000), throwing]) {
    const t0 = performance.now();
    const text = renderValue(value);
    assert.ok(performance.now() - t0 < 200);
    assert.ok(text.length <= 60, text);
  }
  fc.assert(
    fc.property(fc.anything(), fc.integer({ min: 4, max: 300 }), (value, maxChars) => {
      const text = renderValue(value, { maxChars });
      assert.equal(typeof text, 'string');
      assert.ok(text.length <= maxChars, `${text.length} > ${maxChars}`);
    }),
    { seed: 20261204, numRuns: 3000 },
  );
});
