import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  MajorityClassBaseline,
  NgramBaseline,
  uniformBitsPerToken,
} from '../../../shared/evaluation/index.js';

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

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= 1e-12, `${what}: ${actual}, expected ${expected}`);

const bigram = (maxKeys = 10) =>
  new NgramBaseline({ order: 2, vocabSize: 3, maxContexts: 100, maxKeys, windowSize: 2 });

test('the n-gram baseline predicts each key from its own last tokens, with counts shared by all keys', () => {
  const b = bigram();
  // V = 3, order 2; P(w | h) = (c(h,w) + T(h) P(w | "")) / (c(h) + T(h)), P(w | "") over 1/3.
  close(b.observe('a', 0), 1 / 3, '(a, 0): nothing counted');
  // "" has c = 1, T = 1, c(0) = 1: (1 + 1/3) / 2 = 2/3; a's context "0" has no followers yet.
  close(b.observe('a', 0), 2 / 3, '(a, 0)');
  // b starts at BOS. "": c = 2, T = 1, c(1) = 0: (0 + 1/3) / 3 = 1/9;
  // BOS (c = 1, T = 1, c(BOS -> 1) = 0): (0 + 1 · 1/9) / 2 = 1/18.
  close(b.observe('b', 1), 1 / 18, '(b, 1)');
  // a's context is still "0" (not b's "1"). "": c = 3, T = 2, c(0) = 2: (2 + 2/3) / 5 = 8/15;
  // "0" (c = 1, T = 1, c(0 -> 0) = 1): (1 + 8/15) / 2 = 23/30. From "1" it would be 8/15.
  close(b.observe('a', 0), 23 / 30, '(a, 0) after its own 0');
  assert.equal(b.count, 4);
  close(b.bitsPerToken, -Math.log2((1 / 3) * (2 / 3) * (1 / 18) * (23 / 30)) / 4, 'bits');
  close(b.recentBitsPerToken, -Math.log2((1 / 18) * (23 / 30)) / 2, 'bits of the last 2');
  assert.equal(b.keys, 2);
});

test('the n-gram baseline starts a key again from BOS after its eos', () => {
  const withEos = bigram();
  const without = bigram();
  for (const b of [withEos, without]) for (const token of [0, 1, 0]) b.observe('a', token);
  withEos.observe('a', 0, { eos: true });
  without.observe('a', 0);
  // The hand-computed case of witten-bell-ngram.test.ts: 29/36 from BOS, 5/9 from "0".
  close(withEos.observe('a', 0), 29 / 36, 'after eos');
  close(without.observe('a', 0), 5 / 9, 'without eos');
});

test('beyond maxKeys the n-gram baseline drops the least recently seen key, which restarts at BOS', () => {
  const one = bigram(1);
  const evictedByHand = bigram(2);
  one.observe('a', 0);
  evictedByHand.observe('a', 0, { eos: true });
  for (const b of [one, evictedByHand]) b.observe('b', 1);
  assert.equal(one.keys, 1);
  close(one.observe('a', 0), evictedByHand.observe('a', 0), 'a after it was dropped');
});
