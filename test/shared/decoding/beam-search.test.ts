/**
 * beamSearch(): width 1 is greedy, a wider beam finds a more probable sequence than greedy where
 * the greedy first choice is a trap, scores are the model's own log-probabilities (length-normalised
 * GNMT-style when asked), live beams share one batched predictStep per step, and a beam that covers
 * every sequence returns the exhaustive optimum.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { beamSearch, lengthNormalizer } from '../../../shared/decoding/beam-search.js';
import { generate } from '../../../shared/decoding/generate.js';
import { primeState } from '../../../shared/decoding/prime.js';
import type { StepModel } from '../../../shared/decoding/step-model.js';
import {
  bigramRecurrentModel,
  randomLstmModel,
  sum,
  TableModel,
  useCpu,
  type BigramTable,
} from './decoding-test-helpers.js';

before(useCpu);

// Greedy takes 0 (0.6) and then at best 0.34: 0.204. The beam keeps 1 (0.4) and then 2 (0.9): 0.36.
const TRAP: BigramTable = [
  [0.34, 0.33, 0.33],
  [0.05, 0.05, 0.9],
  [0.4, 0.3, 0.3],
  [0.6, 0.4, 0], // BOS
];

/** log p of `tokens` after `prompt`, recomputed step by step by primeState. */
function recomputedLogProb(model: StepModel, prompt: number[], tokens: number[]): number {
  return sum(
    primeState({ model, tokens: [...prompt, ...tokens] }).tokenLogProbs.slice(prompt.length),
  );
}

test('beam width 1 returns the greedy sequence and its log-probability', () => {
  const model = randomLstmModel(41);
  try {
    let stopped = 0;
    // With this model greedy emits 4 first and 2 after about ten tokens: both end tokens are reached.
    for (const prompt of [[], [3], [1, 4, 4, 0]]) {
      for (const eosToken of [undefined, 2, 4]) {
        const greedyRun = generate({
          model,
          prompt,
          maxTokens: 12,
          strategy: { kind: 'greedy' },
          stopAt: eosToken === undefined ? [] : [eosToken],
        });
        const { hypotheses } = beamSearch({ model, prompt, beamWidth: 1, maxTokens: 12, eosToken });
        assert.equal(hypotheses.length, 1);
        assert.deepEqual(
          hypotheses[0]!.tokens,
          greedyRun.tokens,
          `prompt [${prompt}], eos ${eosToken}`,
        );
        assert.ok(Math.abs(hypotheses[0]!.logProb - greedyRun.logProb) < 1e-5);
        assert.equal(hypotheses[0]!.finished, greedyRun.finishReason === 'stop');
        if (greedyRun.finishReason === 'stop') stopped++;
      }
    }
    assert.ok(stopped >= 4, `only ${stopped} runs reached their end token`);
  } finally {
    model.dispose();
  }
});

test('a wider beam finds a more probable sequence than greedy on a recurrent model built as a known bigram', () => {
  const model = bigramRecurrentModel(TRAP);
  try {
    const greedyRun = generate({ model, prompt: [], maxTokens: 2, strategy: { kind: 'greedy' } });
    assert.deepEqual(greedyRun.tokens, [0, 0]);
    assert.ok(Math.abs(greedyRun.logProb - Math.log(0.6 * 0.34)) < 1e-5);

    const { best, hypotheses } = beamSearch({ model, prompt: [], beamWidth: 2, maxTokens: 2 });
    assert.deepEqual(best.tokens, [1, 2]);
    assert.ok(Math.abs(best.logProb - Math.log(0.4 * 0.9)) < 1e-5, `${best.logProb}`);
    assert.ok(best.logProb > greedyRun.logProb + 0.5);
    assert.deepEqual(
      hypotheses.map((h) => h.tokens),
      [
        [1, 2],
        [0, 0],
      ],
    );
  } finally {
    model.dispose();
  }
});

test('live beams share one batched predictStep per step, on any model with the StepModel interface', () => {
  const model = new TableModel(TRAP);
  const { best } = beamSearch({ model, prompt: [], beamWidth: 2, maxTokens: 4 });
  // BOS (batch 1) then one call per extension step with both beams; none after the last token.
  assert.deepEqual(model.batchSizes, [1, 2, 2, 2]);
  assert.ok(Math.abs(best.logProb - recomputedLogProb(model, [], best.tokens)) < 1e-6);
  const greedyRun = generate({ model, prompt: [], maxTokens: 4, strategy: { kind: 'greedy' } });
  assert.ok(
    best.logProb > greedyRun.logProb,
    `beam ${best.logProb} vs greedy ${greedyRun.logProb}`,
  );
});

test('every returned score equals the log-probability recomputed by primeState, length-normalised when asked', () => {
  const model = randomLstmModel(42);
  try {
    const prompt = [2, 6, 1];
    for (const lengthPenalty of [0, 0.6, 1.5]) {
      const { hypotheses } = beamSearch({
        model,
        prompt,
        beamWidth: 4,
        maxTokens: 9,
        eosToken: 3,
        lengthPenalty,
      });
      assert.ok(hypotheses.length >= 1 && hypotheses.length <= 4);
      for (const h of hypotheses) {
        const logProb = recomputedLogProb(model, prompt, h.tokens);
        assert.ok(
          Math.abs(h.logProb - logProb) < 1e-5,
          `α ${lengthPenalty}, [${h.tokens}]: ${h.logProb} vs ${logProb}`,
        );
        assert.ok(
          Math.abs(h.score - logProb / Math.pow((5 + h.tokens.length) / 6, lengthPenalty)) < 1e-5,
        );
        assert.equal(h.finished, h.tokens.at(-1) === 3);
        assert.ok(h.finished || h.tokens.length === 9);
        assert.ok(!h.tokens.slice(0, -1).includes(3), 'the end token only ever comes last');
      }
      for (let i = 1; i < hypotheses.length; i++)
        assert.ok(hypotheses[i - 1]!.score >= hypotheses[i]!.score, 'best first');
      assert.equal(
        new Set(hypotheses.map((h) => h.tokens.join())).size,
        hypotheses.length,
        'distinct hypotheses',
      );
    }
  } finally {
    model.dispose();
  }
});

test('a beam that covers every sequence returns the most probable one found by exhaustive enumeration', () => {
  const model = randomLstmModel(43, { vocabSize: 4 });
  try {
    const prompt = [1, 3];
    const eos = 2;
    const maxTokens = 4;
    // Every sequence that ends at its first eos, or has maxTokens tokens without eos.
    const sequences: number[][] = [];
    const grow = (prefix: number[]): void => {
      if (prefix.at(-1) === eos || prefix.length === maxTokens) {
        sequences.push(prefix);
        return;
      }
      for (let v = 0; v < 4; v++) grow([...prefix, v]);
    };
    grow([]);
    for (const lengthPenalty of [0, 1]) {
      const scored = sequences
        .map((tokens) => ({
          tokens,
          score:
            recomputedLogProb(model, prompt, tokens) /
            lengthNormalizer(tokens.length, lengthPenalty),
        }))
        .sort((a, b) => b.score - a.score);
      const { hypotheses } = beamSearch({
        model,
        prompt,
        beamWidth: 4 ** maxTokens,
        maxTokens,
        eosToken: eos,
        lengthPenalty,
      });
      assert.equal(hypotheses.length, sequences.length);
      hypotheses.slice(0, 5).forEach((h, i) => {
        assert.ok(
          Math.abs(h.score - scored[i]!.score) < 1e-5,
          `α ${lengthPenalty}, rank ${i}: ${h.score} vs ${scored[i]!.score}`,
        );
      });
      assert.deepEqual(hypotheses[0]!.tokens, scored[0]!.tokens);
    }
  } finally {
    model.dispose();
  }
});

test('a length penalty lets a longer hypothesis beat a shorter, more probable one', () => {
  // End token 2. After BOS: end 0.5, token 0 0.48; after 0: end 0.98. "end" has log 0.5 = -0.693,
  // "0 end" log 0.4704 = -0.754; with α = 2 the latter scores -0.754 / (7/6)² = -0.554.
  const model = bigramRecurrentModel([
    [0.01, 0.01, 0.98],
    [0.3, 0.4, 0.3],
    [0.3, 0.4, 0.3],
    [0.48, 0.02, 0.5], // BOS
  ]);
  try {
    const plain = beamSearch({ model, prompt: [], beamWidth: 2, maxTokens: 5, eosToken: 2 });
    assert.deepEqual(plain.best.tokens, [2]);
    const penalised = beamSearch({
      model,
      prompt: [],
      beamWidth: 2,
      maxTokens: 5,
      eosToken: 2,
      lengthPenalty: 2,
    });
    assert.deepEqual(penalised.best.tokens, [0, 2]);
    assert.ok(Math.abs(penalised.best.score - Math.log(0.48 * 0.98) / (49 / 36)) < 1e-5);
  } finally {
    model.dispose();
  }
});

test('the search stops as soon as no live beam can beat the finished hypotheses', () => {
  // After BOS the end token (2) has 0.9: finished with log 0.9 at step 1; every live beam is already below it.
  const model = new TableModel([
    [0.5, 0.4, 0.1],
    [0.5, 0.4, 0.1],
    [0.5, 0.4, 0.1],
    [0.06, 0.04, 0.9], // BOS
  ]);
  const { hypotheses } = beamSearch({
    model,
    prompt: [],
    beamWidth: 1,
    maxTokens: 50,
    eosToken: 2,
  });
  assert.deepEqual(hypotheses[0]!.tokens, [2]);
  assert.deepEqual(model.batchSizes, [1], 'only the BOS step was run');
});

test('maxTokens 0 returns the empty hypothesis', () => {
  const model = new TableModel(TRAP);
  assert.deepEqual(beamSearch({ model, prompt: [0], beamWidth: 3, maxTokens: 0 }).hypotheses, [
    { tokens: [], tokenLogProbs: [], logProb: 0, score: 0, finished: false },
  ]);
});

test('bad beam search requests are refused with the value and the fix', () => {
  const model = new TableModel(TRAP);
  const base = { model, prompt: [0], beamWidth: 2, maxTokens: 3 };
  assert.throws(() => beamSearch({ ...base, beamWidth: 0 }), {
    name: 'RangeError',
    message: /^beamWidth = 0: must be an integer ≥ 1 \(fix: /,
  });
  assert.throws(
    () => beamSearch({ ...base, maxTokens: 1.5 }),
    /^RangeError: maxTokens = 1\.5: must be an integer ≥ 0/,
  );
  assert.throws(
    () => beamSearch({ ...base, lengthPenalty: NaN }),
    /lengthPenalty = NaN: must be a finite number/,
  );
  assert.throws(
    () => beamSearch({ ...base, eosToken: 3 }),
    /eosToken\[0\] = 3: not a token id in \[0, 3\)/,
  );
  assert.throws(() => beamSearch({ ...base, prompt: [-1] }), /prompt\[0\] = -1/);
  assert.deepEqual(model.batchSizes, []);
});
