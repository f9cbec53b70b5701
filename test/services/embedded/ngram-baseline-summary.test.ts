import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ReferenceWittenBell } from '../../support/reference-witten-bell.js';
import { interleave, runOnEvents } from '../../support/run-helpers.js';

const tiny = { model: { cell: 'gru', hidden: 16, embedding: 8 }, tbptt: { k1: 8, k2: 8 } };

/** Three keys of short sentences, each sentence a sequence closed by `eos`. */
function textEvents(): Array<{ key: string; token: string; eos: boolean }> {
  const sentences = ['the cat sat. ', 'a dog ran off. ', 'the dog sat. '];
  return interleave(
    ['k0', 'k1', 'k2'].map((key, k) =>
      Array.from({ length: 12 }, (_, s) => sentences[(s + k) % sentences.length]!).flatMap(
        (sentence) =>
          [...sentence].map((ch, i) => ({ key, token: ch, eos: i === sentence.length - 1 })),
      ),
    ),
  );
}

test('an lm summary reports the online n-gram baseline scored on the same tokens, keys and eos', async () => {
  const events = textEvents();
  const { summary } = await runOnEvents({
    name: 'ngram-summary',
    config: { task: { type: 'lm' }, ...tiny, evaluation: { ngramOrder: 3 } },
    events,
  });
  // The same stream through the textbook model: bytes are the token ids.
  const reference = new ReferenceWittenBell(3, 256);
  let bits = 0;
  for (const { key, token, eos } of events)
    bits -= Math.log2(reference.observe(key, token.charCodeAt(0), eos));
  const ngram = summary.baselines.ngram;
  assert.ok(ngram !== undefined, 'baselines.ngram is reported');
  assert.equal(ngram.order, 3);
  assert.ok(
    Math.abs(ngram.bitsPerToken - bits / events.length) < 1e-9,
    `n-gram ${ngram.bitsPerToken} bits/token, textbook model ${bits / events.length}`,
  );
  // Fewer events than the recent window: the running figure covers them all.
  assert.ok(Math.abs(ngram.recentBitsPerToken - ngram.bitsPerToken) < 1e-9);
  assert.equal(ngram.maxContexts, 1_000_000);
  assert.equal(ngram.contextsDropped, 0);
  assert.ok(ngram.contexts > 2, `${ngram.contexts} contexts`);
  assert.ok(
    ngram.bitsPerToken < 3,
    `a repetitive stream is easy for a trigram: ${ngram.bitsPerToken}`,
  );
});

test('the summary says how many n-gram contexts did not fit in evaluation.ngramMaxContexts', async () => {
  const { summary } = await runOnEvents({
    name: 'ngram-bound',
    config: { task: { type: 'lm' }, ...tiny, evaluation: { ngramOrder: 4, ngramMaxContexts: 40 } },
    events: textEvents(),
  });
  const ngram = summary.baselines.ngram!;
  assert.equal(ngram.contexts, 40);
  assert.equal(ngram.maxContexts, 40);
  assert.ok(ngram.contextsDropped > 0, `${ngram.contextsDropped} contexts dropped`);
});

test('evaluation.ngramOrder 0 turns the n-gram baseline off', async () => {
  const { summary } = await runOnEvents({
    name: 'ngram-off',
    config: { task: { type: 'lm' }, ...tiny, evaluation: { ngramOrder: 0 } },
    events: textEvents().slice(0, 50),
  });
  assert.equal(summary.baselines.ngram, undefined);
  assert.equal(summary.baselines.bitsPerToken, 8);
});
