import assert from 'node:assert/strict';
import { test } from 'node:test';

import { closestName, editDistance } from '../../../shared/errors/closest-name.js';

test('edit distance counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
  assert.equal(editDistance('hidden', 'hidden'), 0);
  assert.equal(editDistance('hiden', 'hidden'), 1);
  assert.equal(editDistance('hidedn', 'hidden'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
});

test('the closest name within two edits is suggested, ignoring case', () => {
  assert.equal(closestName('Hidden', ['layers', 'hidden']), 'hidden');
  assert.equal(closestName('lerningRate', ['type', 'learningRate', 'momentum']), 'learningRate');
  assert.equal(closestName('window', ['k1', 'k2', 'maxKeys']), undefined);
});
