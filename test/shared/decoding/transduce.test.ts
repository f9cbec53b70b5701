/**
 * Decoding targets with the encoder–decoder: beam width 1 is greedy; on a model whose weights are
 * set by hand, greedy misses the most probable target and a beam of width 2 finds the one an
 * exhaustive enumeration finds; every n-best score equals the log-probability the teacher-forced
 * forward pass gives the same target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { transduce } from '../../../shared/decoding/transduce.js';
import { Seq2seqModel } from '../../../shared/model/seq2seq/seq2seq-model.js';
import { pairBatch } from '../../../shared/model/seq2seq/pair-batch.js';
import type { Seq2seqSpec } from '../../../shared/model/seq2seq/seq2seq-spec.js';
import { createTestRng } from '../../support/finite-differences.js';

await tf.setBackend('cpu');

const spec: Seq2seqSpec = {
  sourceVocabSize: 6,
  targetVocabSize: 4,
  cell: 'gru',
  layers: 1,
  hidden: 8,
  encoderHidden: 8,
  embedding: 5,
  peepholes: false,
  coupledGates: false,
  reverseSource: true,
  bidirectional: false,
  attention: 'additive',
  attentionSize: 4,
};

/** ln p(target, end | source) from the training forward pass (teacher forcing). */
function teacherForcedLogProb(model: Seq2seqModel, source: number[], target: number[]): number {
  const losses = model.stepLosses(pairBatch(model.spec, [{ source, target }]));
  return -losses.reduce((a, b) => a + b, 0);
}

function randomisedModel(seed: number): Seq2seqModel {
  const model = Seq2seqModel.create({ spec, seed });
  const rng = createTestRng(seed);
  const arrays = model.params.toArrays();
  for (const values of arrays.values())
    for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-1.5, 1.5);
  model.params.assignArrays(arrays);
  return model;
}

const sources = [[1, 2, 3], [5], [0, 4, 4, 2, 1], [3, 3]];

test('beam width 1 without length normalisation returns exactly the greedy target', () => {
  for (const seed of [1, 2, 3]) {
    const model = randomisedModel(seed);
    try {
      const greedy = transduce({
        model,
        sources,
        strategy: { type: 'greedy' },
        maxTargetLength: 6,
      });
      const beam = transduce({
        model,
        sources,
        strategy: { type: 'beam', beamWidth: 1, lengthPenalty: 0 },
        maxTargetLength: 6,
      });
      sources.forEach((_, i) => {
        assert.deepEqual(beam[i]![0]!.tokens, greedy[i]![0]!.tokens);
        assert.equal(beam[i]![0]!.finished, greedy[i]![0]!.finished);
        assert.ok(Math.abs(beam[i]![0]!.logProb - greedy[i]![0]!.logProb) < 1e-9);
      });
    } finally {
      model.dispose();
    }
  }
});

test('n-best scores are the teacher-forced log-probabilities of their targets, best first', () => {
  const model = randomisedModel(7);
  try {
    const nBest = transduce({
      model,
      sources,
      strategy: { type: 'beam', beamWidth: 4, lengthPenalty: 0.6, nBest: 4 },
      maxTargetLength: 6,
    });
    sources.forEach((source, i) => {
      const list = nBest[i]!;
      assert.equal(list.length, 4);
      list.forEach((h, rank) => {
        assert.ok(h.finished, 'random weights end within 6 tokens at these seeds');
        const recomputed = teacherForcedLogProb(model, source, h.tokens);
        assert.ok(
          Math.abs(h.logProb - recomputed) < 1e-4,
          `source ${i} rank ${rank}: beam ${h.logProb} vs forward ${recomputed}`,
        );
        const lp = Math.pow((5 + h.tokens.length + 1) / 6, 0.6);
        assert.ok(Math.abs(h.score - recomputed / lp) < 1e-4);
        if (rank > 0) assert.ok(h.score <= list[rank - 1]!.score);
      });
      assert.equal(new Set(list.map((h) => h.tokens.join(','))).size, 4, 'distinct hypotheses');
    });
  } finally {
    model.dispose();
  }
});

/**
 * A decoder that remembers only its last input: an Elman cell with U = 0, b = 0 and a one-hot
 * embedding through W = 12·I gives h_t ≈ onehot(y_{t-1}), and the output layer holds the log of
 * a chosen next-token table per previous token. Target ids: a = 0, b = 1, end = 2 (BOS input 2).
 *   after BOS: a 0.55, b 0.45 — after a: a, b, end 1/3 each — after b: end 0.9, a 0.05, b 0.05
 * Greedy takes a (0.55) and ends with p ≤ 0.55 · 1/3 ≈ 0.18; "b" then end has 0.45 · 0.9 = 0.405.
 */
function handBuiltModel(): Seq2seqModel {
  const handSpec: Seq2seqSpec = {
    sourceVocabSize: 2,
    targetVocabSize: 2,
    cell: 'rnn',
    layers: 1,
    hidden: 3,
    encoderHidden: 3,
    embedding: 3,
    peepholes: false,
    coupledGates: false,
    reverseSource: false,
    bidirectional: false,
    attention: 'none',
    attentionSize: 1,
  };
  const model = Seq2seqModel.create({ spec: handSpec, seed: 1 });
  const values = model.params.toArrays();
  for (const v of values.values()) v.fill(0);
  values.get('decoder/embedding')!.set([1, 0, 0, 0, 1, 0, 0, 0, 1]); // a, b, BOS → e0, e1, e2
  values.get('decoder/layer0/W')!.set([12, 0, 0, 0, 12, 0, 0, 0, 12]);
  const next = [
    [1 / 3, 1 / 3, 1 / 3], // after a (h ≈ e0)
    [0.05, 0.05, 0.9], // after b (h ≈ e1)
    [0.55, 0.45, 1e-9], // after BOS (h ≈ e2)
  ];
  values.get('output/W')!.set(next.flat().map(Math.log));
  model.params.assignArrays(values);
  return model;
}

test('on a hand-built model greedy misses the most probable target and beam width 2 finds it', () => {
  const model = handBuiltModel();
  try {
    const source = [1, 0];
    const maxTargetLength = 4;
    // Exhaustive: every target of at most maxTargetLength tokens, scored by the forward pass.
    let best = { tokens: [] as number[], logProb: -Infinity };
    const visit = (prefix: number[]): void => {
      const logProb = teacherForcedLogProb(model, source, prefix);
      if (logProb > best.logProb) best = { tokens: prefix, logProb };
      if (prefix.length < maxTargetLength) for (const id of [0, 1]) visit([...prefix, id]);
    };
    visit([]);
    assert.deepEqual(best.tokens, [1]);
    assert.ok(Math.abs(best.logProb - Math.log(0.45 * 0.9)) < 1e-3);

    const [greedy] = transduce({
      model,
      sources: [source],
      strategy: { type: 'greedy' },
      maxTargetLength,
    });
    assert.equal(greedy![0]!.tokens[0], 0, 'greedy starts with a');
    assert.ok(greedy![0]!.logProb < best.logProb - 0.5);

    const [beam] = transduce({
      model,
      sources: [source],
      strategy: { type: 'beam', beamWidth: 2, lengthPenalty: 0, nBest: 2 },
      maxTargetLength,
    });
    assert.deepEqual(beam![0]!.tokens, best.tokens);
    assert.ok(Math.abs(beam![0]!.logProb - best.logProb) < 1e-4);
  } finally {
    model.dispose();
  }
});

test('bad beam options are refused with the value and the fix', () => {
  const model = randomisedModel(1);
  try {
    assert.throws(
      () =>
        transduce({
          model,
          sources,
          strategy: { type: 'beam', beamWidth: 2, lengthPenalty: 0, nBest: 3 },
          maxTargetLength: 4,
        }),
      /nBest = 3: .*fix/,
    );
    assert.throws(
      () =>
        transduce({
          model,
          sources,
          strategy: { type: 'beam', beamWidth: 0, lengthPenalty: 0 },
          maxTargetLength: 4,
        }),
      /beamWidth = 0/,
    );
  } finally {
    model.dispose();
  }
});
