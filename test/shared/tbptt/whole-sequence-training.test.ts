import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { createRng } from '../../../shared/model/random.js';
import { KeySequence } from '../../../shared/tbptt/key-sequence.js';
import { StepRingBuffer } from '../../../shared/tbptt/step-ring-buffer.js';
import { TbpttTrainer } from '../../../shared/tbptt/tbptt-trainer.js';
import { buildWindowBatch } from '../../../shared/tbptt/window-batch.js';
import { wholeSequenceSchedule } from '../../../shared/tbptt/window-schedule.js';
import { CapturingSink } from '../../support/capture-sink.js';
import { tinyLmSpec } from '../../support/tiny-learner.js';

const spec = tinyLmSpec({ task: 'classify', outputSize: 3 });

/** A closed classify sequence of `length` steps (label at its last), its states from `seed`. */
function closedSequence(key: string, length: number, seed: number): KeySequence {
  const schedule = wholeSequenceSchedule({ maxSteps: 64 });
  const sequence = new KeySequence({
    key,
    stateSize: 12,
    schedule,
    buffer: new StepRingBuffer({
      capacity: schedule.bufferSteps,
      inputKind: 'tokens',
      targetKind: 'class',
      featureSize: 1,
    }),
    initialToken: 8,
  });
  const rng = createRng(seed);
  for (let t = 0; t < length; t++) {
    const eos = t === length - 1;
    const state = Float32Array.from({ length: 12 }, () => rng.uniform() - 0.5);
    sequence.advance(
      { inputToken: Math.floor(rng.uniform() * 8), classTarget: eos ? t % 3 : 0, hasLoss: eos },
      state,
      0,
    );
  }
  sequence.closing = true;
  return sequence;
}

test('whole sequences of different chunk counts train as one step whose gradient is that of one unchunked batch of all of them', async () => {
  const model = RecurrentModel.create({ spec, seed: 5 });
  try {
    // 5, 20 and 41 steps with chunks of 8: one, three and six chunks; 70 steps: past the 64-step
    // cap, so its window starts at the first kept state (every 64 / 8 steps) at or after 70 − 64,
    // position 8: 62 steps, eight chunks. Four groups.
    const lengths = [5, 20, 41, 70];
    const keys = lengths.map((n, i) => closedSequence(`k${i}`, n, 100 + i));
    // Expected: the plain left-padded batch of all windows, one pass, no chunks.
    const expected = model.lossAndGradients(buildWindowBatch({ spec, keys }));
    assert.equal(expected.count, 4);
    assert.deepEqual(
      keys.map((k) => k.window().length),
      [5, 20, 41, 62],
    );

    const sink = new CapturingSink();
    const trainer = new TbpttTrainer({
      model,
      sink,
      rng: createRng(1),
      workerId: 't',
      chunkSteps: 8,
    });
    const result = await trainer.train(keys);
    assert.equal(result.tokens, 4);
    assert.equal(result.steps, 64, 'the longest window, padded to whole chunks');
    assert.equal(sink.received.length, 1, 'one gradient for the whole training step');
    const got = sink.received[0]!;
    assert.equal(got.tokens, 4);
    assert.ok(Math.abs(got.lossSum - expected.lossSum) <= 1e-5 * expected.lossSum);
    for (const [name, want] of expected.gradients) {
      const g = got.gradients.get(name)!;
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < want.length; i++)
        assert.ok(
          Math.abs(g[i]! - want[i]!) <= 1e-6 + 1e-4 * scale,
          `d loss / d ${name}[${i}]: ${g[i]} vs ${want[i]}`,
        );
    }
    for (const key of keys) assert.equal(key.position, 0, 'every key reset after its eos window');
  } finally {
    model.dispose();
  }
});
