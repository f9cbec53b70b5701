import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { CapturingSink } from '../../support/capture-sink.js';
import { finiteDifferenceGradients, toFloat64Params } from '../../support/finite-differences.js';
import { referenceForward, referenceParameterShapes } from '../../support/reference-model.js';
import { availableBackends } from '../../support/backends.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';

/**
 * k2 > k1: the engine's gradient for the training step at position 8 (k1 = 2, k2 = 5) must equal
 * the gradient an independent float64 implementation computes for the same window — steps 3..7,
 * started from the state after step 2 held constant, loss on steps 6 and 7 — by central finite
 * differences over every parameter entry. Tolerance: float32 analytic vs float64 FD (eps 1e-6),
 * |Δ| ≤ 2e-5 + 1e-3·|g|.
 */
for (const backend of await availableBackends(['cpu', 'tensorflow', 'wasm'])) {
  test(`[${backend}] with k2 > k1 the gradient equals an independent straightforward computation of the same window`, async () => {
    await tf.setBackend(backend);
    for (const cell of ['rnn', 'lstm', 'gru'] as const) {
      const spec = tinyLmSpec({ cell, vocabSize: 6, outputSize: 6, hidden: 4, embedding: 3 });
      const sink = new CapturingSink();
      const { model, learner, encode } = tinyLearner({ spec, k1: 2, k2: 5, sink });
      const sequence = [2, 5, 1, 0, 3, 3, 4, 1];
      await learner.process(encode(sequence.map((token) => ({ key: 'k', token }))));
      await learner.flush();
      assert.equal(sink.received.length, 4, 'trainings at positions 2, 4, 6, 8');
      const engine = sink.received[3]!;
      assert.equal(engine.tokens, 2, 'the loss covers the last k1 = 2 steps');

      const params = toFloat64Params(model.params.toArrays());
      const bos = spec.vocabSize;
      const inputs = [bos, ...sequence.slice(0, -1)];
      const S = model.stateSize;
      // State after steps 0..2 (the window start), in float64, then held constant.
      const prefix = referenceForward(spec, params, {
        batchSize: 1,
        steps: 3,
        tokens: Int32Array.from(inputs.slice(0, 3)),
        classTargets: Int32Array.from(sequence.slice(0, 3)),
        lossMask: new Float32Array(3).fill(1),
        validMask: new Float32Array(3).fill(1),
        initialState: new Float32Array(S),
      });
      const windowBatch = {
        batchSize: 1,
        steps: 5,
        tokens: Int32Array.from(inputs.slice(3, 8)),
        classTargets: Int32Array.from(sequence.slice(3, 8)),
        lossMask: Float32Array.from([0, 0, 0, 1, 1]),
        validMask: new Float32Array(5).fill(1),
        initialState: Float32Array.from(prefix.finalState),
      };
      const everyEntry = new Map(
        [...referenceParameterShapes(spec)].map(([name, shape]) => [
          name,
          Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i),
        ]),
      );
      const fd = finiteDifferenceGradients(spec, params, windowBatch, everyEntry);
      assert.ok(
        Math.abs(engine.lossSum / 2 - referenceForward(spec, params, windowBatch).loss) < 1e-5,
        `${cell}: window loss`,
      );
      for (const [name, { indices, values }] of fd) {
        const got = engine.gradients.get(name)!;
        indices.forEach((index, k) => {
          const expected = values[k]!;
          assert.ok(
            Math.abs(got[index]! - expected) <= 2e-5 + 1e-3 * Math.abs(expected),
            `${cell} ${name}[${index}]: engine ${got[index]} vs reference ${expected}`,
          );
        });
      }
      model.dispose();
    }
  });
}
