/**
 * RecurrentModel.outputsAt: the head's prediction at given states, without stepping, equals what
 * predictStep returned for the step that produced those states — for every cell and task.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { createRng } from '../../../shared/model/random.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { makeSpec } from './model-test-helpers.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

test('outputsAt a state equals the outputs predictStep returned for the step that produced it', () => {
  const rng = createRng(21);
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    for (const task of ['tag', 'classify', 'lm', 'forecast'] as const) {
      const model = RecurrentModel.create({ spec: makeSpec({ task, cell, layers: 2 }), seed: 3 });
      try {
        const { spec, stateSize: S } = model;
        const B = 3;
        const state = Float32Array.from({ length: B * S }, () => rng.uniform() - 0.5);
        const step = model.predictStep({
          batchSize: B,
          tokens:
            spec.inputKind === 'tokens'
              ? Int32Array.from({ length: B }, (_, b) => b % spec.vocabSize)
              : undefined,
          features:
            spec.inputKind === 'features'
              ? Float32Array.from({ length: B * spec.featureSize }, () => rng.uniform())
              : undefined,
          state,
        });
        const at = model.outputsAt({ batchSize: B, state: step.state });
        assert.equal(at.length, B * spec.outputSize);
        at.forEach((v, i) =>
          assert.ok(
            Math.abs(v - step.outputs[i]!) < 1e-6,
            `${cell} ${task} [${i}]: ${v} vs ${step.outputs[i]}`,
          ),
        );
      } finally {
        model.dispose();
      }
    }
  }
});

test('outputsAt refuses a state array of the wrong length', () => {
  const model = RecurrentModel.create({ spec: makeSpec({ task: 'tag', cell: 'lstm' }), seed: 4 });
  try {
    assert.throws(
      () => model.outputsAt({ batchSize: 2, state: new Float32Array(5) }),
      /outputsAt got 5 state values for 2 keys; expected 24/,
    );
  } finally {
    model.dispose();
  }
});
