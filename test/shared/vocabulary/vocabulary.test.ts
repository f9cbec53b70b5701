import { test } from 'node:test';
import assert from 'node:assert/strict';

import { InputError } from '../../../shared/errors/index.js';
import { VocabularyAdmission } from '../../../shared/vocabulary/admission.js';
import { BoundedWordCounts } from '../../../shared/vocabulary/word-counts.js';
import { OOV_ID, Vocabulary } from '../../../shared/vocabulary/vocabulary.js';
import { WordsTokenizer } from '../../../shared/vocabulary/words-tokenizer.js';

const rules = { capacity: 5, minCount: 2, maxCandidates: 100 };
const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

test('a word gets an id only once its counts reach minWordCount; before that it is OOV', () => {
  const admission = new VocabularyAdmission(rules);
  admission.count(counts({ cat: 1 }));
  assert.deepEqual(admission.admit(), []);
  assert.equal(admission.vocabulary.idOf('cat'), OOV_ID);
  admission.count(counts({ cat: 1 }));
  assert.deepEqual(admission.admit(), ['cat']);
  assert.equal(admission.vocabulary.idOf('cat'), 1);
});

test('words admitted together get ids by falling count, ties by word, whatever the report order', () => {
  const a = new VocabularyAdmission(rules);
  a.count(counts({ b: 2, a: 2, z: 5 }));
  const b = new VocabularyAdmission(rules);
  b.count(counts({ z: 3 }));
  b.count(counts({ a: 2, z: 2, b: 2 }));
  assert.deepEqual(a.admit(), ['z', 'a', 'b']);
  assert.deepEqual(b.admit(), ['z', 'a', 'b']);
  assert.deepEqual(a.vocabulary.words(), ['<oov>', 'z', 'a', 'b']);
});

test('the vocabulary never grows past its capacity: later words stay OOV, earlier ids stay', () => {
  const admission = new VocabularyAdmission(rules);
  admission.count(counts({ w1: 9, w2: 8, w3: 7, w4: 6, w5: 5, w6: 4 }));
  assert.deepEqual(admission.admit(), ['w1', 'w2', 'w3', 'w4']);
  assert.equal(admission.vocabulary.size, 5);
  assert.ok(admission.vocabulary.full);
  admission.count(counts({ w5: 100, w7: 100 }));
  assert.deepEqual(admission.admit(), []);
  assert.equal(admission.vocabulary.idOf('w5'), OOV_ID);
  assert.deepEqual(
    ['w1', 'w2', 'w3', 'w4'].map((w) => admission.vocabulary.idOf(w)),
    [1, 2, 3, 4],
  );
});

test('ids are never reassigned: a published list that disagrees on an existing id is refused', () => {
  const local = new Vocabulary({ capacity: 5 });
  local.applyWords(['<oov>', 'cat', 'dog']);
  assert.deepEqual(local.applyWords(['<oov>', 'cat', 'dog', 'emu']), [3]);
  assert.throws(
    () => local.applyWords(['<oov>', 'dog', 'cat', 'emu']),
    (error: unknown) => error instanceof InputError && /disagreement at id 1/.test(error.message),
  );
  assert.equal(local.idOf('cat'), 1);
  assert.throws(() => local.append(['cat']), /has an id already/);
});

test('a saved admission state restores the vocabulary and the waiting counts', () => {
  const admission = new VocabularyAdmission(rules);
  admission.count(counts({ cat: 3, dog: 1 }));
  admission.admit();
  const restored = new VocabularyAdmission(rules, JSON.parse(JSON.stringify(admission.toJSON())));
  assert.deepEqual(restored.vocabulary.words(), ['<oov>', 'cat']);
  restored.count(counts({ dog: 1 }));
  assert.deepEqual(restored.admit(), ['dog']);
  assert.throws(
    () => new VocabularyAdmission({ ...rules, capacity: 9 }, admission.toJSON()),
    /capacity 5 does not fit input.vocabSize = 9/,
  );
});

test('bounded counts keep the most frequent half when full, deterministically', () => {
  const table = new BoundedWordCounts({ maxWords: 4 });
  for (const [w, n] of [
    ['a', 5],
    ['b', 1],
    ['c', 3],
    ['d', 1],
  ] as const)
    table.add(w, n);
  table.add('e', 2); // 5 words > 4: keep the top 2
  assert.deepEqual(table.sorted(), [
    ['a', 5],
    ['c', 3],
  ]);
});

test('the words tokenizer counts unknown words for the next gradient and maps known ones', () => {
  const vocabulary = new Vocabulary({ capacity: 4 });
  vocabulary.applyWords(['<oov>', 'the']);
  const tokenizer = new WordsTokenizer({ vocabulary, lowercase: true, maxWordBytes: 8 });
  assert.equal(tokenizer.encode('The'), 1);
  assert.equal(tokenizer.encode('Cat'), OOV_ID);
  assert.equal(tokenizer.encode('cat'), OOV_ID);
  assert.equal(tokenizer.lookup('dog'), OOV_ID);
  assert.deepEqual([...tokenizer.unseen.drain()], [['cat', 2]]);
  assert.equal(tokenizer.decode(1), 'the');
  assert.equal(tokenizer.decode(4), '<bos>');
  assert.equal(tokenizer.decode(3), '<unused 3>');
  assert.throws(
    () => tokenizer.encode('hippopotamus', { line: 7 }),
    (error: unknown) =>
      error instanceof InputError &&
      /line 7/.test(error.message) &&
      /maxWordBytes = 8/.test(error.message),
  );
  assert.throws(() => tokenizer.encode(17), /is a number/);
});
