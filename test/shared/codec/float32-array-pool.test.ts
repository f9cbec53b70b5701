import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Float32ArrayPool } from '../../../shared/codec/float32-array-pool.js';

test('an array given back is the one taken next for its length, and only for its length', () => {
  const pool = new Float32ArrayPool();
  const a = pool.take(10);
  pool.give(a);
  assert.equal(pool.bytes, 40);
  assert.notEqual(pool.take(11), a, 'another length gets a new array');
  assert.equal(pool.take(10), a);
  assert.equal(pool.bytes, 0);
  assert.notEqual(pool.take(10), a, 'taken arrays are not handed out twice');
});

test('the pool keeps no more than maxRetainedBytes; the rest is left to the garbage collector', () => {
  const pool = new Float32ArrayPool({ maxRetainedBytes: 100 });
  const [a, b] = [pool.take(20), pool.take(20)]; // 80 bytes each
  pool.give(a);
  pool.give(b);
  assert.equal(pool.bytes, 80);
  assert.equal(pool.take(20), a);
  assert.notEqual(pool.take(20), b);
});
