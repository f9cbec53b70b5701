import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { tf } from '../../../shared/engine/tf.js';
import { ShapeError } from '../../../shared/errors/index.js';
import type { KeySequenceSnapshot } from '../../../shared/tbptt/key-sequence.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';

const spec = tinyLmSpec({ cell: 'gru', hidden: 4 });
import type { GradientSink } from '../../../shared/tbptt/gradient-sink.js';

/** Takes each gradient and frees it: only the keys' bookkeeping matters here. */
const sink: GradientSink = {
  submit: (g) => {
    for (const t of g.gradients.values()) t.dispose();
  },
};

/** Snapshots of every key after each of several batches of a training learner. */
async function realSnapshots(k1: number, k2: number): Promise<KeySequenceSnapshot[]> {
  const { learner, encode, model } = tinyLearner({ spec, k1, k2, sink });
  const snapshots: KeySequenceSnapshot[] = [];
  for (let batch = 0; batch < 12; batch++) {
    const events = Array.from({ length: 9 }, (_, i) => ({
      key: `k${(batch + i) % 4}`,
      token: (batch * 5 + i * 3) % 8,
      eos: (batch * 9 + i) % 23 === 22,
    }));
    await learner.process(encode(events));
    for (const key of learner.drainChangedKeys()) snapshots.push(structuredClone(key.toSnapshot()));
  }
  model.dispose();
  return snapshots;
}

/** Field replacements a corrupt or forged changelog record could carry. */
const corruptions: Array<[string, (s: KeySequenceSnapshot) => KeySequenceSnapshot]> = [
  ['a state of another size', (s) => ({ ...s, state: new Float32Array(s.state.length + 1) })],
  ['a NaN in the state', (s) => ({ ...s, state: s.state.map((x, i) => (i === 0 ? NaN : x)) })],
  ['pending beyond position', (s) => ({ ...s, pending: s.position + 1 })],
  ['a negative position', (s) => ({ ...s, position: -1 })],
  ['a previous token past the embedding', (s) => ({ ...s, previousToken: 1_000_000 })],
  [
    'a step token past the embedding',
    (s) => ({ ...s, steps: s.steps.map((st) => ({ ...st, inputToken: 99 })) }),
  ],
  [
    'a class target past the head',
    (s) => ({ ...s, steps: s.steps.map((st) => ({ ...st, classTarget: 8, hasLoss: true })) }),
  ],
  ['steps missing', (s) => ({ ...s, steps: s.steps.slice(1) })],
  [
    'a window start past the position',
    (s) => ({
      ...s,
      windowStarts: s.windowStarts.map((w) => ({ ...w, position: s.position + 1 })),
    }),
  ],
  [
    'a window start state of NaN',
    (s) => ({
      ...s,
      windowStarts: s.windowStarts.map((w) => ({ ...w, state: w.state.map(() => NaN) })),
    }),
  ],
];

test('every snapshot a training learner writes is restorable; corrupted ones are ShapeErrors that leave the learner unchanged', async () => {
  await tf.setBackend('cpu');
  for (const [k1, k2] of [
    [1, 1],
    [3, 3],
    [2, 5],
    [4, 6],
  ] as const) {
    const snapshots = await realSnapshots(k1, k2);
    const { learner, model } = tinyLearner({ spec, k1, k2, sink });
    for (const s of snapshots) learner.restoreKey(s);
    assert.equal(learner.store.size, 4, `k1=${k1} k2=${k2}: all keys restored`);

    let refused = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...snapshots),
        fc.constantFrom(...corruptions),
        (snapshot, [name, corrupt]) => {
          const bad = corrupt({ ...snapshot, key: 'forged' });
          // Some corruptions change nothing on some snapshots (no steps to alter, say).
          const changed =
            JSON.stringify(bad, replacer) !==
            JSON.stringify({ ...snapshot, key: 'forged' }, replacer);
          if (!changed) return;
          const fresh = tinyLearner({ spec, k1, k2, sink });
          try {
            assert.throws(() => fresh.learner.restoreKey(bad), ShapeError, name);
            assert.equal(fresh.learner.store.size, 0, `${name}: the learner is unchanged`);
            refused++;
          } finally {
            fresh.model.dispose();
          }
        },
      ),
      { seed: 20261204, numRuns: 200 },
    );
    assert.ok(refused > 50, `k1=${k1} k2=${k2}: ${refused} corruptions refused`);
    model.dispose();
  }
});

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Float32Array ? Array.from(value, String) : value;
}
