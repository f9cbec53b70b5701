import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { CapturingSink } from '../../support/capture-sink.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';
import { availableBackends } from '../../support/backends.js';

function assertClose(
  actual: Float32Array,
  expected: Float32Array,
  tol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(
      d <= tol * (1 + Math.abs(expected[i]!)),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

for (const backend of await availableBackends(['cpu', 'tensorflow', 'wasm'])) {
  test(`[${backend}] TBPTT with k1 = k2 = T over one sequence of length T equals full BPTT`, async () => {
    await tf.setBackend(backend);
    // T = 1 is k1 = k2 = 1, fully online (and a one-step window, which tfjs' unstack gradient mishandles).
    for (const [cell, T] of [
      ['rnn', 7],
      ['lstm', 7],
      ['gru', 7],
      ['lstm', 1],
      ['gru', 1],
    ] as const) {
      const spec = tinyLmSpec({ cell });
      const sink = new CapturingSink();
      const { model, learner, encode } = tinyLearner({ spec, k1: T, k2: T, sink });
      const sequence = [3, 1, 4, 1, 5, 2, 6].slice(0, T);
      await learner.process(encode(sequence.map((token) => ({ key: 'only', token }))));
      await learner.flush();
      assert.equal(sink.received.length, 1, 'one training step after T steps');
      // Full BPTT by hand: the whole sequence from the zero state, inputs BOS + previous tokens.
      const full = model.lossAndGradients({
        batchSize: 1,
        steps: T,
        tokens: Int32Array.from([spec.vocabSize, ...sequence.slice(0, -1)]),
        classTargets: Int32Array.from(sequence),
        lossMask: new Float32Array(T).fill(1),
        validMask: new Float32Array(T).fill(1),
        initialState: new Float32Array(model.stateSize),
      });
      const got = sink.received[0]!;
      assert.equal(got.tokens, T);
      assert.ok(
        Math.abs(got.lossSum / T - full.loss) < 1e-6,
        `${cell}: loss ${got.lossSum / T} vs ${full.loss}`,
      );
      for (const [name, g] of full.gradients)
        assertClose(got.gradients.get(name)!, g, 1e-5, `${cell} ${name}`);
      model.dispose();
    }
  });

  test(`[${backend}] no gradient reaches inputs older than the window start`, async () => {
    await tf.setBackend(backend);
    const spec = tinyLmSpec({ cell: 'lstm' });
    const sink = new CapturingSink();
    const { model, learner, encode } = tinyLearner({ spec, k1: 2, k2: 4, sink });
    // Token 7 occurs only as event 0, so only step 1 reads its embedding row as input.
    const sequence = [7, 1, 2, 3, 1, 2, 3, 1, 2, 3];
    await learner.process(encode(sequence.map((token) => ({ key: 'k', token }))));
    await learner.flush();
    const E = spec.embedding;
    const rowOf7 = (g: Float32Array): Float32Array => g.subarray(7 * E, 8 * E);
    // Steps 1..: trainings at positions 2, 4 (window [0,4) includes step 1), 6, 8, 10 (windows start at 2, 4, 6).
    assert.equal(sink.received.length, 5);
    assert.ok(
      rowOf7(sink.received[1]!.gradients.get('embedding')!).some((v) => v !== 0),
      'a window containing step 1 does reach the row',
    );
    for (const later of sink.received.slice(2)) {
      assert.ok(
        rowOf7(later.gradients.get('embedding')!).every((v) => v === 0),
        `window of step ${later.step} must not reach step 1`,
      );
    }
    model.dispose();
  });
}
