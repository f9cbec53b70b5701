import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { type NgramContext, WittenBellNgram } from '../../../shared/evaluation/index.js';
import { ReferenceWittenBell } from '../../support/reference-witten-bell.js';

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= 1e-12, `${what}: ${actual}, expected ${expected}`);

/** Σ_w P(w | context) over the whole vocabulary. */
function total(model: WittenBellNgram, context: NgramContext): number {
  let sum = 0;
  for (let w = 0; w < model.vocabSize; w++) sum += model.probability(context, w);
  return sum;
}

test('a bigram model gives the hand-computed interpolated Witten–Bell probabilities', () => {
  // V = 3 tokens, order 2: contexts are the empty one ("") and the previous token (or BOS).
  // P(w | h) = (c(h,w) + T(h) · P(w | "")) / (c(h) + T(h)); P(w | "") likewise over 1/3.
  const model = new WittenBellNgram({ order: 2, vocabSize: 3, maxContexts: 100 });
  const context = model.startContext();
  const expected = [
    // 1st token 0: nothing counted yet, so both contexts fall through to the uniform 1/3.
    1 / 3,
    // 2nd token 1: "" has c = 1, T = 1, c(1) = 0: (0 + 1 · 1/3) / (1 + 1) = 1/6.
    //   Context "0" has not been followed by anything yet: stays 1/6.
    1 / 6,
    // 3rd token 0: "" has c = 2, T = 2, c(0) = 1: (1 + 2 · 1/3) / (2 + 2) = 5/12; "1" is empty.
    5 / 12,
    // 4th token 0: "" has c = 3, T = 2, c(0) = 2: (2 + 2/3) / 5 = 8/15;
    //   "0" has c = 1 (0 -> 1), T = 1, c(0 -> 0) = 0: (0 + 1 · 8/15) / (1 + 1) = 4/15.
    4 / 15,
  ];
  [0, 1, 0, 0].forEach((token, i) =>
    close(model.observe(context, token), expected[i]!, `token ${i + 1}`),
  );
  // Next token 0, with "" at c = 4, T = 2, c(0) = 3: (3 + 2/3) / 6 = 11/18, and then
  // - after "0" (c = 2, T = 2, c(0 -> 0) = 1): (1 + 2 · 11/18) / (2 + 2) = 5/9;
  close(model.probability(context, 0), 5 / 9, 'token 0 after "0"');
  // - at a new sequence's start, BOS (c = 1, T = 1, c(BOS -> 0) = 1): (1 + 11/18) / 2 = 29/36.
  close(model.probability(model.startContext(), 0), 29 / 36, 'token 0 after BOS');
});

test('the probabilities after a context are those of the textbook formula, and sum to 1', () => {
  const event = (vocabSize: number) =>
    fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      token: fc.nat({ max: vocabSize - 1 }),
      eos: fc.boolean(),
    });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }).chain((vocabSize) =>
        fc.record({
          vocabSize: fc.constant(vocabSize),
          order: fc.integer({ min: 1, max: 4 }),
          events: fc.array(event(vocabSize), { maxLength: 80 }),
        }),
      ),
      ({ vocabSize, order, events }) => {
        const model = new WittenBellNgram({ order, vocabSize, maxContexts: 10_000 });
        const reference = new ReferenceWittenBell(order, vocabSize);
        const contexts = new Map<string, NgramContext>();
        for (const { key, token, eos } of events) {
          const context = contexts.get(key) ?? model.startContext();
          close(total(model, context), 1, 'Σ_w P(w | context)');
          close(model.observe(context, token), reference.observe(key, token, eos), 'P(token)');
          if (eos) contexts.delete(key);
          else contexts.set(key, context);
        }
      },
    ),
  );
});

test('at maxContexts no context is added, the drops are counted and the rest keeps counting', () => {
  // V = 2, order 2, room for the root, BOS and one more context.
  const model = new WittenBellNgram({ order: 2, vocabSize: 2, maxContexts: 3 });
  const context = model.startContext();
  // 1st token 0: nothing counted: 1/2. Stored: "0" (the root's count of 0); BOS -> 0 is dropped.
  close(model.observe(context, 0), 1 / 2, 'token 1');
  assert.equal(model.contexts, 3);
  assert.equal(model.contextsDropped, 1);
  // 2nd token 1: "" has c = 1, T = 1, c(1) = 0: (0 + 1 · 1/2) / 2 = 1/4. Neither "1" nor "0 -> 1"
  // can be stored.
  close(model.observe(context, 1), 1 / 4, 'token 2');
  assert.equal(model.contextsDropped, 3);
  // 3rd token 0 (its context "1" was never stored): "" has c = 1, T = 1, c(0) = 1:
  // (1 + 1/2) / 2 = 3/4. The stored "0" keeps counting: c(0) becomes 2.
  close(model.observe(context, 0), 3 / 4, 'token 3');
  // "" now has c = 2, T = 1: P(0) = (2 + 1/2) / 3 = 5/6, P(1) = (0 + 1/2) / 3 = 1/6.
  close(model.probability(model.startContext(), 0), 5 / 6, 'P(0) after');
  close(total(model, context), 1, 'Σ_w P(w) when full');
  assert.equal(model.contexts, 3);
});

test('a full table still gives distributions that sum to 1 and never more contexts than allowed', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 12 }),
      fc.array(fc.nat({ max: 3 }), { maxLength: 60 }),
      (maxContexts, tokens) => {
        const model = new WittenBellNgram({ order: 3, vocabSize: 4, maxContexts });
        const context = model.startContext();
        for (const token of tokens) {
          const p = model.observe(context, token);
          assert.ok(p > 0 && p <= 1, `P = ${p}`);
          close(total(model, context), 1, 'Σ_w P(w | context)');
          assert.ok(model.contexts <= maxContexts, `${model.contexts} > ${maxContexts}`);
        }
      },
    ),
  );
});

test('a token outside the vocabulary is refused with the range it must be in', () => {
  const model = new WittenBellNgram({ order: 2, vocabSize: 3, maxContexts: 10 });
  assert.throws(() => model.observe(model.startContext(), 3), /token id 3: must be .*\[0, 3\)/);
  assert.throws(
    () => new WittenBellNgram({ order: 0, vocabSize: 3, maxContexts: 10 }),
    /order 0: must be an integer >= 1/,
  );
});
