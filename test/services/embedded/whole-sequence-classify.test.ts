import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, interleave, runOnEvents } from '../../support/run-helpers.js';

/**
 * A classify stream whose class is told only by the first steps of each sequence: tokens 0/1
 * for class 'a', 2/3 for 'b' over the first 8 steps, then 32 to 72 steps of noise (tokens 4 to 7,
 * whatever the class), the label at eos. The last k2 = 16 steps are always noise, so only a
 * gradient that reaches back to the sequence start can learn the class.
 */
function headClassStream(seed: number): object[] {
  const rng = createRng(seed);
  const perKey = Array.from({ length: 12 }, (_, k) => {
    const events: object[] = [];
    for (let s = 0; s < 30; s++) {
      const cls = rng.uniform() < 0.5 ? 0 : 1;
      const length = 40 + Math.floor(rng.uniform() * 41);
      for (let t = 0; t < length; t++) {
        const token =
          t < 8 ? 2 * cls + Math.floor(rng.uniform() * 2) : 4 + Math.floor(rng.uniform() * 4);
        const eos = t === length - 1;
        events.push({ key: `mail-${k}`, token, eos, ...(eos ? { label: cls ? 'b' : 'a' } : {}) });
      }
    }
    return events;
  });
  return interleave(perKey);
}

const K2 = 16;

function configWith(maxSequenceSteps: number): object {
  return {
    task: { type: 'classify', labels: ['a', 'b'], maxSequenceSteps },
    input: { tokenizer: 'ids', vocabSize: 8 },
    model: { cell: 'lstm', hidden: 16, embedding: 8 },
    tbptt: { k1: K2, k2: K2, maxKeys: 12 },
    optimizer: { learningRate: 0.003 },
  };
}

const events = headClassStream(11);
/** Every sequence's length, from the events (each key's steps since its last eos). */
const lengths: number[] = [];
{
  const open = new Map<string, number>();
  for (const e of events as Array<{ key: string; eos: boolean }>) {
    const n = (open.get(e.key) ?? 0) + 1;
    if (e.eos) lengths.push(n);
    open.set(e.key, e.eos ? 0 : n);
  }
}
const sequences = lengths.length;

test('classify: the label at eos is learnt from the first steps of 40-80-step sequences, far above majority', async () => {
  const { summary } = await runOnEvents({
    name: 'whole-sequence',
    config: configWith(4096),
    events,
  });
  assert.ok(
    summary.metrics.accuracy! >= summary.baselines.accuracy! + 0.3,
    `accuracy ${summary.metrics.accuracy} vs majority ${summary.baselines.accuracy}`,
  );
  assert.ok(summary.metrics.macroF1! >= 0.8, `macro-F1 ${summary.metrics.macroF1}`);
  // One training window per sequence, none before eos; every step is in its sequence's window.
  assert.equal(summary.training?.untrained.beyondMaxSequenceSteps, 0);
  assert.ok(summary.training!.trainSteps <= sequences);
  assert.deepEqual(summary.storage, {
    schedule: 'whole-sequence',
    stepsPerKey: 4096,
    windowStartsPerKey: 9, // a state every 4096 / 8 steps in the last 4096
    stateFloats: 32, // h and c of 16 units
    maxBytesPerKey: 4096 * (4 + 4 + 1) + 10 * 32 * 4,
  });
});

test('classify: with maxSequenceSteps = k2 (the truncated window of before) the same stream stays at majority', async () => {
  const { summary } = await runOnEvents({
    name: 'sequence-capped',
    config: configWith(K2),
    events,
  });
  assert.ok(
    summary.metrics.accuracy! <= summary.baselines.accuracy! + 0.1,
    `accuracy ${summary.metrics.accuracy} vs majority ${summary.baselines.accuracy}: the last ${K2} steps carry no class`,
  );
  // The eos window starts at the first kept state (every ceil(K2 / 8) = 2 steps) at most K2
  // steps back: the steps before it were never reached by a gradient, and the summary says so.
  const stride = 2;
  const unreached = lengths.reduce((n, p) => n + Math.ceil((p - K2) / stride) * stride, 0);
  assert.equal(summary.training?.untrained.beyondMaxSequenceSteps, unreached);
  assert.equal(summary.storage?.stepsPerKey, K2);
});
