import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeySequence } from '../../../shared/tbptt/key-sequence.js';
import { StepRingBuffer } from '../../../shared/tbptt/step-ring-buffer.js';
import { truncatedSchedule, wholeSequenceSchedule } from '../../../shared/tbptt/window-schedule.js';

function sequence(k1: number, k2: number): KeySequence {
  const buffer = new StepRingBuffer({
    capacity: Math.max(k1, k2),
    inputKind: 'tokens',
    targetKind: 'class',
    featureSize: 0,
  });
  return new KeySequence({
    key: 'k',
    stateSize: 1,
    schedule: truncatedSchedule({ k1, k2 }),
    buffer,
    initialToken: 9,
  });
}

/** Runs n steps whose state is the position, training whenever ready; returns windows seen. */
function drive(
  seq: KeySequence,
  n: number,
  onTrain: (w: ReturnType<KeySequence['window']>, at: number) => void,
): number {
  let maxSnapshots = 0;
  for (let i = 0; i < n; i++) {
    seq.advance(
      { inputToken: i % 5, classTarget: i % 5, hasLoss: true },
      Float32Array.of(seq.position + 1),
      0,
    );
    maxSnapshots = Math.max(maxSnapshots, seq.snapshotCount());
    if (seq.ready) {
      onTrain(seq.window(), seq.position);
      seq.markTrained();
    }
  }
  return maxSnapshots;
}

for (const [k1, k2] of [
  [4, 4],
  [2, 5],
  [3, 8],
  [1, 6],
  [5, 7],
] as const) {
  test(`windows for k1=${k1}, k2=${k2} end every k1 steps, span min(k2, position) steps and start from the stored state there`, () => {
    const seq = sequence(k1, k2);
    let trainings = 0;
    const maxSnapshots = drive(seq, 40, (w, at) => {
      trainings++;
      assert.equal(at % k1, 0, 'trains at multiples of k1');
      assert.equal(w.lossSteps, k1);
      assert.equal(w.length, Math.min(k2, at));
      // The state stored at the window start is the state after (at - length) steps.
      if (at - w.length > 0) assert.equal(w.startState?.[0], at - w.length);
      else
        assert.equal(
          w.startState,
          undefined,
          'a window from the sequence start uses the zero state',
        );
    });
    assert.equal(trainings, Math.floor(40 / k1));
    assert.ok(
      maxSnapshots <= Math.ceil(k2 / k1) + 1,
      `kept ${maxSnapshots} window-start states, at most ceil(k2/k1)+1 = ${Math.ceil(k2 / k1) + 1}`,
    );
  });
}

test('an eos trains the partial chunk from a stored window start and then resets the key', () => {
  const seq = sequence(4, 6);
  drive(seq, 9, () => {});
  seq.closing = true;
  assert.ok(seq.ready, 'a closing key with pending steps is ready');
  const w = seq.window();
  assert.equal(w.lossSteps, 1);
  assert.equal(w.length, 6 - 4 + 1);
  assert.equal(w.startState?.[0], 9 - w.length);
  seq.markTrained();
  assert.equal(seq.position, 0);
  assert.equal(seq.previousToken, 9, 'back to BOS');
  assert.equal(seq.state[0], 0, 'state reset to zeros');
});

test('the ring buffer returns the newest steps and refuses overwritten ones', () => {
  const buffer = new StepRingBuffer({
    capacity: 3,
    inputKind: 'tokens',
    targetKind: 'class',
    featureSize: 0,
  });
  for (let i = 0; i < 5; i++)
    buffer.push({ inputToken: 10 + i, classTarget: i, hasLoss: i % 2 === 0 });
  const tokens = new Int32Array(3);
  const classTargets = new Int32Array(3);
  assert.equal(buffer.copyStepInto(0, 0, { tokens, classTargets }), true);
  assert.equal(buffer.copyStepInto(1, 1, { tokens, classTargets }), false);
  buffer.copyStepInto(2, 2, { tokens, classTargets });
  assert.deepEqual([...tokens], [14, 13, 12]);
  assert.throws(() => buffer.copyStepInto(3, 0, { tokens }), /not in the buffer/);
});

test('a snapshot a key hands out, and the window-start states it keeps, do not change as it steps on', () => {
  const seq = sequence(4, 4);
  const step = (value: number) =>
    seq.advance({ inputToken: 1, classTarget: 1, hasLoss: true }, Float32Array.of(value), 0);
  step(1);
  step(2);
  const snapshot = seq.toSnapshot();
  step(3);
  step(4); // position 4 starts the next window: its state is stored
  const windowStart = seq.toSnapshot().windowStarts.at(-1)!;
  step(5);
  step(6);
  assert.deepEqual([...snapshot.state], [2]);
  assert.deepEqual(windowStart, { position: 4, state: Float32Array.of(4) });
  assert.deepEqual([...seq.state], [6]);
});

test('the eos window of truncated BPTT spans L = min(P, k2 − ((−P) mod k1)) steps for a sequence of P steps', () => {
  for (const [k1, k2] of [
    [4, 4],
    [2, 5],
    [3, 8],
    [5, 7],
    [16, 32],
  ] as const) {
    for (let P = 1; P <= 3 * k2 + k1; P++) {
      const seq = sequence(k1, k2);
      drive(seq, P, () => {});
      if (seq.pending === 0) continue; // P a multiple of k1: the regular window covered it
      seq.closing = true;
      const w = seq.window();
      // Window starts are kept only where a regular window starts (p ≡ −k2 mod k1), so the eos
      // window starts at the first of those at or after P − k2.
      const shortBy = (((-P % k1) + k1) % k1) as number;
      const expected = P <= k2 ? P : k2 - shortBy;
      assert.equal(w.length, expected, `k1=${k1} k2=${k2} P=${P}`);
      assert.equal(w.lossSteps, P % k1);
      if (P - w.length > 0) assert.equal(w.startState?.[0], P - w.length);
    }
  }
});

function wholeSequence(maxSteps: number): KeySequence {
  const schedule = wholeSequenceSchedule({ maxSteps });
  const buffer = new StepRingBuffer({
    capacity: schedule.bufferSteps,
    inputKind: 'tokens',
    targetKind: 'class',
    featureSize: 0,
  });
  return new KeySequence({ key: 'k', stateSize: 1, schedule, buffer, initialToken: 9 });
}

test('a whole sequence trains once, at eos, back to its start or, past the cap, to the first kept state at most maxSequenceSteps back', () => {
  for (const maxSteps of [16, 20, 35]) {
    const stride = Math.ceil(maxSteps / 8);
    for (let P = 1; P <= 3 * maxSteps; P++) {
      const seq = wholeSequence(maxSteps);
      let maxStarts = 0;
      for (let i = 0; i < P; i++) {
        seq.advance(
          { inputToken: 1, classTarget: 0, hasLoss: false },
          Float32Array.of(seq.position + 1),
          0,
        );
        assert.equal(seq.ready, false, 'no window before eos: no step before it has a loss');
        maxStarts = Math.max(maxStarts, seq.snapshotCount());
      }
      seq.closing = true;
      assert.equal(seq.ready, true);
      const w = seq.window();
      // Kept states are at multiples of the stride; the window starts at the first one at or
      // after P − maxSteps (position 0, the zero state, for a sequence within the cap).
      const start = P <= maxSteps ? 0 : Math.ceil((P - maxSteps) / stride) * stride;
      assert.equal(w.length, P - start, `maxSteps=${maxSteps} P=${P}`);
      assert.equal(w.lossSteps, Math.min(P, w.length));
      assert.equal(w.startState?.[0], start === 0 ? undefined : start);
      // Memory bound: the step buffer and at most floor(maxSteps / stride) + 1 states.
      assert.ok(seq.buffer.size <= maxSteps);
      assert.ok(
        maxStarts <= Math.floor(maxSteps / stride) + 1,
        `kept ${maxStarts} states for maxSteps=${maxSteps}`,
      );
      seq.markTrained();
      assert.equal(seq.position, 0, 'reset after the eos window');
      assert.equal(seq.snapshotCount(), 0);
    }
  }
});
