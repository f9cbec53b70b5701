import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatProgress } from '../../../services/embedded/progress-line.js';
import type { RunSummary } from '../../../services/embedded/prequential-summary.js';

const lmSummary = (baselines: RunSummary['baselines']): RunSummary => ({
  events: 1000,
  keys: 3,
  skipped: 0,
  tokensPerSecond: 500,
  metrics: { bitsPerToken: 3.5 },
  recent: { bitsPerToken: 2.6974 },
  baselines,
  paramVersion: 7,
  seconds: 2,
  liveTensors: 6,
  rssMiB: 300,
});

test('an lm progress line shows the n-gram running figure next to the network one', () => {
  const line = formatProgress(
    lmSummary({
      bitsPerToken: 8,
      ngram: {
        order: 5,
        bitsPerToken: 2.1,
        recentBitsPerToken: 1.8766,
        contexts: 10,
        maxContexts: 100,
        contextsDropped: 0,
      },
    }),
    Date.now(),
  );
  assert.match(line, / · running 2\.697 bits\/token · 5-gram 1\.877 bits\/token · /);
});

test('without the n-gram baseline the progress line has no n-gram figure', () => {
  const line = formatProgress(lmSummary({ bitsPerToken: 8 }), Date.now());
  assert.match(line, /running 2\.697 bits\/token/);
  assert.doesNotMatch(line, /gram/);
});
