/**
 * A tagging task only a bidirectional model can solve, run online through the embedded learner:
 * every step of a segment is tagged with the segment's LAST token. A left-to-right tagger knows
 * that token only at the last step (about chance elsewhere); a bidirectional one, which predicts
 * the segment when its eos arrives, sees it at every step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, interleave, runOnEvents } from '../../support/run-helpers.js';

const LABELS = ['a', 'b', 'c', 'd'];

/** Segments of 3..8 random tokens 0..3 per key, every step labelled with its segment's last token. */
function lastTokenStream(seed: number, { keys, segments }: { keys: number; segments: number }) {
  const rng = createRng(seed);
  const perKey = Array.from({ length: keys }, (_, k) => {
    const events: object[] = [];
    for (let s = 0; s < segments; s++) {
      const length = 3 + Math.floor(rng.uniform() * 6);
      const tokens = Array.from({ length }, () => Math.floor(rng.uniform() * 4));
      const label = LABELS[tokens[length - 1]!]!;
      tokens.forEach((token, t) =>
        events.push({ key: `k${k}`, token, label, eos: t === length - 1 }),
      );
    }
    return events;
  });
  return interleave(perKey);
}

function configWith(bidirectional: boolean): object {
  return {
    task: { type: 'tag', labels: LABELS, maxSequenceSteps: 16 },
    input: { tokenizer: 'ids', vocabSize: 4 },
    model: { cell: 'gru', hidden: 16, embedding: 8, bidirectional },
    tbptt: { k1: 8, k2: 8, maxKeys: 16 },
    optimizer: { learningRate: 0.01 },
  };
}

const events = lastTokenStream(3, { keys: 16, segments: 160 });

test('tag with the segment’s last token: a bidirectional tagger learns it online (> 90 % prequential accuracy), a unidirectional one stays near chance', async () => {
  const bidirectional = await runOnEvents({
    name: 'bidirectional-tag',
    config: configWith(true),
    events,
  });
  const unidirectional = await runOnEvents({
    name: 'unidirectional-tag',
    config: configWith(false),
    events,
  });
  const b = bidirectional.summary;
  const u = unidirectional.summary;
  assert.equal(b.events, events.length, 'every event gets its prediction once its segment closes');
  assert.equal(bidirectional.predictions.length, events.length);
  assert.ok(b.metrics.accuracy! > 0.9, `bidirectional prequential accuracy ${b.metrics.accuracy}`);
  // Chance is 25 %; the last step of a segment (1 in 5.5 on average) is known to it as well.
  assert.ok(u.metrics.accuracy! < 0.5, `unidirectional prequential accuracy ${u.metrics.accuracy}`);
  assert.ok(b.metrics.macroF1! > 0.9, `bidirectional macro-F1 ${b.metrics.macroF1}`);
});

test('a segment longer than task.maxSequenceSteps: its steps beyond the bound are skipped with the reason, its buffered steps dropped and counted, and the key’s next segment is predicted whole', async () => {
  const key = (token: number, eos = false) => ({ key: 'long', token, label: 'a', eos });
  const events = [
    ...[0, 1, 2, 3, 0, 1].map((t) => key(t)),
    key(2, true), // steps 5, 6 and this eos are over the bound of 4
    key(3),
    key(0, true),
    { key: 'short', token: 1, label: 'b', eos: true },
  ];
  const { summary, predictions, logLines } = await runOnEvents({
    name: 'bidirectional-bound',
    config: {
      task: { type: 'tag', labels: LABELS, maxSequenceSteps: 4 },
      input: { tokenizer: 'ids', vocabSize: 4 },
      model: { cell: 'rnn', hidden: 4, embedding: 2, bidirectional: true },
    },
    events,
  });
  assert.equal(summary.skipped, 3);
  assert.equal(summary.training?.untrained.segmentOverflow, 4);
  const reasons = logLines.filter((l) => l['msg'] === 'skipped bad input record');
  assert.deepEqual(
    reasons.map((l) => l['line']),
    [5, 6, 7],
  );
  for (const l of reasons)
    assert.match(
      String(l['reason']),
      /segment of key "long" already has task\.maxSequenceSteps = 4 steps/,
    );
  assert.deepEqual(
    predictions.map((p) => [p['key'], p['index'], p['eos'] ?? false]),
    [
      ['long', 7, false],
      ['long', 8, true],
      ['short', 9, true],
    ],
  );
});

test('bidirectional classify (with dropout): every step of a segment gets the segment’s class at its eos, the actual label only on the eos step', async () => {
  const events = lastTokenStream(5, { keys: 3, segments: 4 }).map((e) => {
    const { label, ...rest } = e as { label: string; eos: boolean };
    return rest.eos ? { ...rest, label } : rest;
  });
  const { summary, predictions } = await runOnEvents({
    name: 'bidirectional-classify',
    config: {
      task: { type: 'classify', labels: LABELS },
      input: { tokenizer: 'ids', vocabSize: 4 },
      // Variational dropout on both layers (the upper one reads 2H = 8 values) and both directions.
      model: {
        cell: 'lstm',
        layers: 2,
        hidden: 4,
        embedding: 2,
        bidirectional: true,
        dropout: 0.2,
        recurrentDropout: 0.2,
      },
    },
    events,
  });
  assert.equal(predictions.length, events.length);
  const segments = new Map<string, Array<Record<string, unknown>>>();
  for (const p of predictions) {
    const open = segments.get(String(p['key'])) ?? [];
    open.push(p);
    if (p['eos']) {
      assert.ok(
        open.every((q) => q['label'] === p['label'] && q['confidence'] === p['confidence']),
      );
      assert.ok(open.slice(0, -1).every((q) => q['actual'] === undefined));
      assert.ok(LABELS.includes(String(p['actual'])));
      segments.set(String(p['key']), []);
    } else segments.set(String(p['key']), open);
  }
  assert.ok(summary.training!.trainSteps > 0, 'the segments trained, dropout masks and all');
  assert.equal(summary.storage?.schedule, 'segment');
  assert.equal(summary.storage?.stateFloats, 0);
});
