/**
 * A key of a model with a convolutional front end carries the conv context (the raw inputs of its
 * last steps) in its state: the changelog record keeps it, a restored key resumes exactly, a
 * record written without a context restores with an empty one, and a forged context is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKeyState, encodeKeyState } from '../../../shared/codec/key-state-codec.js';
import { tf } from '../../../shared/engine/tf.js';
import { ShapeError } from '../../../shared/errors/index.js';
import {
  keyStateRecordOf,
  snapshotOfKeyState,
  stepLayoutOf,
} from '../../../shared/learner/key-state-mapping.js';
import { recurrentStateSize, type ModelSpec } from '../../../shared/model/model-spec.js';
import type { KeySequenceSnapshot } from '../../../shared/tbptt/key-sequence.js';
import { CapturingSink } from '../../support/capture-sink.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';

const convSpec: ModelSpec = tinyLmSpec({
  cell: 'gru',
  conv: { kernelWidth: 3, channels: 5, dilation: 2, activation: 'tanh', layers: 1 },
});
const C = 4; // (3 − 1) · 2 context steps, one float each (token id + 1)

const events = Array.from({ length: 60 }, (_, i) => ({
  key: `k${i % 3}`,
  token: (i * 5 + (i >> 2)) % 8,
  eos: i === 34,
}));

/** Through the changelog's bytes and back: what a restoring worker gets. */
function throughCodec(snapshot: KeySequenceSnapshot, spec: ModelSpec): KeySequenceSnapshot {
  const record = keyStateRecordOf({
    snapshot,
    layout: stepLayoutOf(spec),
    inputOffset: 1,
    tsMs: 2,
  });
  return snapshotOfKeyState(decodeKeyState(encodeKeyState(record)));
}

test('a conv key state, context included, round-trips through the KeyState codec and the key resumes exactly (training on)', async () => {
  await tf.setBackend('cpu');
  const sink = new CapturingSink();
  const whole = tinyLearner({ spec: convSpec, k1: 3, k2: 7, sink });
  const tensors = tf.memory().numTensors;
  const expected = await whole.learner.process(whole.encode(events));
  assert.equal(tf.memory().numTensors, tensors, 'stepping and training with a conv leak no tensor');
  assert.ok(sink.received.length >= 5, `${sink.received.length} training steps`);
  assert.ok(
    sink.received.every((g) => g.gradients.get('conv0/kernel')!.some((v) => v !== 0)),
    'every TBPTT step sends a conv kernel gradient',
  );

  const first = tinyLearner({ spec: convSpec, k1: 3, k2: 7, sink: new CapturingSink() });
  const before = await first.learner.process(first.encode(events.slice(0, 25)));
  const stored = first.learner
    .drainChangedKeys()
    .map((k) => throughCodec(k.toSnapshot(), convSpec));
  const R = recurrentStateSize(convSpec);
  for (const s of stored) {
    assert.equal(s.state.length, R + C);
    // The context holds the key's last C inputs (lm: the previous tokens), as id + 1.
    const inputs = s.steps.slice(-C).map((step) => step.inputToken! + 1);
    assert.deepEqual([...s.state.subarray(R)], inputs, `context of ${s.key}`);
    for (const w of s.windowStarts) assert.equal(w.state.length, R + C);
  }
  const second = tinyLearner({ spec: convSpec, k1: 3, k2: 7, sink: new CapturingSink() });
  for (const s of stored) second.learner.restoreKey(s);
  const after = await second.learner.process(second.encode(events).slice(25));
  [...before, ...after].forEach((p, i) =>
    assert.equal(p.probability, expected[i]!.probability, `event ${i}`),
  );
  for (const l of [whole, first, second]) l.model.dispose();
});

test('a record written without a conv context restores into a conv model with an empty one (zeros: steps before the sequence start)', async () => {
  await tf.setBackend('cpu');
  const plainSpec = tinyLmSpec({ cell: 'gru' });
  const plain = tinyLearner({ spec: plainSpec, k1: 3, k2: 7 });
  await plain.learner.process(plain.encode(events.slice(0, 20)));
  const old = plain.learner.store.get('k1')!.toSnapshot();
  const stored = throughCodec(old, plainSpec);
  assert.equal(stored.state.length, recurrentStateSize(plainSpec));

  const conv = tinyLearner({ spec: convSpec, k1: 3, k2: 7 });
  conv.learner.restoreKey(stored);
  const restored = conv.learner.store.get('k1')!.toSnapshot();
  const R = recurrentStateSize(convSpec);
  assert.deepEqual([...restored.state.subarray(0, R)], [...old.state]);
  assert.deepEqual([...restored.state.subarray(R)], new Array(C).fill(0));
  for (const [i, w] of restored.windowStarts.entries()) {
    assert.deepEqual([...w.state.subarray(0, R)], [...old.windowStarts[i]!.state]);
    assert.deepEqual([...w.state.subarray(R)], new Array(C).fill(0));
  }
  // The next event is predicted from the recurrent state with the convolution seeing only it.
  const [next] = conv.encode([{ key: 'k1', token: 3 }]);
  const [prediction] = await conv.learner.process([next!]);
  const direct = conv.model.predictStep({
    batchSize: 1,
    tokens: Int32Array.of(old.previousToken),
    state: restored.state,
  });
  assert.equal(prediction!.probability, direct.outputs[3]);
  for (const l of [plain, conv]) l.model.dispose();
});

test('a record whose conv context holds no input is refused and names the context (the key starts afresh)', async () => {
  await tf.setBackend('cpu');
  const learner = tinyLearner({ spec: convSpec, k1: 3, k2: 7 });
  await learner.learner.process(learner.encode(events.slice(0, 12)));
  const good = structuredClone(learner.learner.store.get('k0')!.toSnapshot());
  const R = recurrentStateSize(convSpec);
  for (const [what, value] of [
    ['a token id past BOS', 10],
    ['a fraction', 2.5],
    ['a negative value', -1],
  ] as const) {
    const state = good.state.slice();
    state[R + 1] = value;
    assert.throws(
      () => learner.learner.restoreKey({ ...good, key: 'forged', state }),
      (error: Error) =>
        error instanceof ShapeError &&
        /conv context step 1 holds/.test(error.message) &&
        /fix:/.test(error.message),
      what,
    );
    assert.equal(learner.learner.store.get('forged'), undefined);
  }
  learner.model.dispose();
});
