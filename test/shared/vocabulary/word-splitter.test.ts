import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ConfigError, InputError } from '../../../shared/errors/index.js';
import {
  DEFAULT_WORD_PATTERN,
  WordSplitter,
  splitWords,
} from '../../../shared/vocabulary/word-splitter.js';

const options = { wordPattern: DEFAULT_WORD_PATTERN, lowercase: true, maxWordBytes: 32 };

test('the default pattern splits words, keeps apostrophes and hyphens, and makes punctuation its own word', () => {
  assert.deepEqual(splitWords("It's a well-known fact, isn't it?", options), [
    "it's",
    'a',
    'well-known',
    'fact',
    ',',
    "isn't",
    'it',
    '?',
  ]);
  assert.deepEqual(splitWords('Café ÜBER 42', options), ['café', 'über', '42']);
});

test('streaming gives the same words however the text is cut, with the line each starts on', () => {
  const text = 'the cat\nsat on\n\nthe mat.';
  const whole = new WordSplitter(options);
  const expected = [...whole.push(text), ...whole.end()];
  for (let cut = 1; cut < text.length; cut++) {
    const splitter = new WordSplitter(options);
    const got = [
      ...splitter.push(text.slice(0, cut)),
      ...splitter.push(text.slice(cut)),
      ...splitter.end(),
    ];
    assert.deepEqual(got, expected, `cut at ${cut}`);
  }
  assert.deepEqual(
    expected.map(({ word, line }) => `${line}:${word}`),
    ['1:the', '1:cat', '2:sat', '2:on', '4:the', '4:mat', '4:.'],
  );
});

test('empty matches of a pattern (\\b) are not words and do not stall the split', () => {
  assert.deepEqual(splitWords('ab cd', { ...options, wordPattern: 'c|\\b' }), ['c']);
});

test('a custom pattern and no lower-casing', () => {
  assert.deepEqual(splitWords('A b,C', { ...options, wordPattern: '[^,\\s]+', lowercase: false }), [
    'A',
    'b',
    'C',
  ]);
});

test('a bad pattern is a ConfigError; a word over maxWordBytes an InputError with its line', () => {
  assert.throws(() => splitWords('x', { ...options, wordPattern: '(' }), ConfigError);
  assert.throws(
    () => splitWords('x', { ...options, wordPattern: '\\w*' }),
    /matches the empty string/,
  );
  assert.throws(
    () => splitWords('ok\n' + 'x'.repeat(40), options),
    (error: unknown) =>
      error instanceof InputError &&
      /line 2/.test(error.message) &&
      /maxWordBytes/.test(error.message),
  );
  // Held back at the end of a piece, the long word is refused before it can grow without bound.
  const splitter = new WordSplitter(options);
  assert.throws(() => splitter.push('y'.repeat(33)), InputError);
});
