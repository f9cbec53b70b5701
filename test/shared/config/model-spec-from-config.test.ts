import assert from 'node:assert/strict';
import { test } from 'node:test';

import { modelSpecFromConfig, parseConfig } from '../../../shared/config/index.js';

const spec = (value: unknown) => modelSpecFromConfig(parseConfig(value, { source: 'cfg.json' }));

test('an lm head has one output per token of the vocabulary', () => {
  const s = spec({ model: { cell: 'gru', layers: 2, hidden: 16, embedding: 8 } });
  assert.deepEqual(s, {
    task: 'lm',
    inputKind: 'tokens',
    vocabSize: 256,
    featureSize: 2,
    horizon: 1,
    outputSize: 256,
    cell: 'gru',
    layers: 2,
    hidden: 16,
    embedding: 8,
    peepholes: false,
    coupledGates: false,
    dropout: 0,
    recurrentDropout: 0,
  });
});

test('tag and classify heads have one output per declared label, else maxLabels', () => {
  assert.equal(spec({ task: { type: 'classify', labels: ['ham', 'spam'] } }).outputSize, 2);
  assert.equal(spec({ task: { type: 'tag', maxLabels: 10 } }).outputSize, 10);
});

test('a forecast head has one output per feature', () => {
  const s = spec({ task: { type: 'forecast' }, input: { kind: 'features', featureSize: 5 } });
  assert.equal(s.outputSize, 5);
  assert.equal(s.inputKind, 'features');
});

test('a forecast head with task.horizon H has one output per feature for each of the H steps', () => {
  const s = spec({
    task: { type: 'forecast', horizon: 3 },
    input: { kind: 'features', featureSize: 5 },
    tbptt: { k1: 8, k2: 16 },
  });
  assert.equal(s.outputSize, 15);
  assert.equal(s.horizon, 3);
});
