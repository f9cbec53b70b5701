/**
 * labelBatch / forecastBatch / replayLastSteps: tagging, classifying and forecasting jobs stepped
 * together give each job what stepping it alone gives, in one predictStep per time step; a key's
 * last n outputs are recomputed from its stored state and inputs.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  forecastBatch,
  labelBatch,
  type LabelJob,
  type LabellingModel,
} from '../../../shared/decoding/batch-labelling.js';
import { replayableSteps, replayLastSteps } from '../../../shared/decoding/key-replay.js';
import { createRng } from '../../../shared/model/random.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { KeySequence } from '../../../shared/tbptt/key-sequence.js';
import { StepRingBuffer } from '../../../shared/tbptt/step-ring-buffer.js';
import { truncatedSchedule } from '../../../shared/tbptt/window-schedule.js';
import { makeSpec } from '../model/model-test-helpers.js';
import { useCpu } from './decoding-test-helpers.js';

before(useCpu);

/** The model with a counter of its predictStep calls. */
function counted(model: LabellingModel): LabellingModel & { calls: number } {
  const wrapper = {
    spec: model.spec,
    stateSize: model.stateSize,
    calls: 0,
    predictStep: (input: Parameters<LabellingModel['predictStep']>[0]) => {
      wrapper.calls++;
      return model.predictStep(input);
    },
  };
  return wrapper;
}

/** One step of one key alone (batch 1). */
function stepAlone(
  model: LabellingModel,
  input: { token?: number; features?: Float32Array },
  state: Float32Array,
): { outputs: Float32Array; state: Float32Array } {
  return model.predictStep({
    batchSize: 1,
    tokens: input.token === undefined ? undefined : Int32Array.of(input.token),
    features: input.features,
    state,
  });
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${what}[${i}]: ${v} vs ${expected[i]}`),
  );
}

function randomArray(rng: { uniform(): number }, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

test('tagging jobs of token or feature inputs stepped together give each job the outputs of stepping it alone, one predictStep per time step', () => {
  const rng = createRng(3);
  for (const inputKind of ['tokens', 'features'] as const) {
    const model = RecurrentModel.create({
      spec: makeSpec({ task: 'tag', cell: 'lstm', layers: 2, inputKind }),
      seed: 11,
    });
    try {
      const { vocabSize: V, featureSize: F, outputSize: O } = model.spec;
      const jobs: LabelJob[] = [1, 6, 3, 4].map((steps, i) => ({
        state: i % 2 === 0 ? randomArray(rng, model.stateSize, 0.5) : undefined,
        tokens:
          inputKind === 'tokens'
            ? Int32Array.from({ length: steps }, () => Math.floor(rng.uniform() * (V + 1)))
            : undefined,
        features: inputKind === 'features' ? randomArray(rng, steps * F) : undefined,
        steps,
        keep: i === 2 ? 'last' : 'each',
        skip: i === 3 ? 2 : undefined,
      }));
      const batched = counted(model);
      const outcomes = labelBatch({ model: batched, jobs });
      assert.equal(batched.calls, 6, 'the longest job sets the number of steps');

      jobs.forEach((job, j) => {
        let state = job.state ?? new Float32Array(model.stateSize);
        const each: Float32Array[] = [];
        for (let t = 0; t < job.steps; t++) {
          const out = stepAlone(
            model,
            { token: job.tokens?.[t], features: job.features?.subarray(t * F, (t + 1) * F) },
            state,
          );
          each.push(out.outputs.slice());
          state = out.state.slice();
        }
        const kept = job.keep === 'last' ? [each.at(-1)!] : each.slice(job.skip ?? 0);
        const expected = new Float32Array(kept.length * O);
        kept.forEach((row, k) => expected.set(row, k * O));
        assertClose(outcomes[j]!.outputs, expected, `${inputKind} job ${j} outputs`);
        assertClose(outcomes[j]!.state, state, `${inputKind} job ${j} state`);
      });
    } finally {
      model.dispose();
    }
  }
});

test('forecasts feed the given rows, then the next input, then each prediction back in as base + change × scale', () => {
  const rng = createRng(4);
  const model = RecurrentModel.create({
    spec: makeSpec({ task: 'forecast', cell: 'gru', layers: 2 }),
    seed: 12,
  });
  try {
    const F = model.spec.featureSize;
    // The forecast head starts at zero (it would predict "no change"): give it values.
    model.params.assignArrays(
      new Map([['head/W', randomArray(rng, model.params.get('head/W').size, 0.5)]]),
    );
    // Independent units: z = (x - 2) / 2; the unit of feature f's one-step change is 0.5 + f.
    const units = {
      normalize: (x: ArrayLike<number>) => Float32Array.from(x, (v) => (v - 2) / 2),
      changes: { scale: (h: number, f: number) => (h === 1 ? 0.5 + f : NaN) },
    };
    const base = () => Float64Array.from({ length: F }, () => 10 * rng.normal());
    const jobs = [
      { feed: randomArray(rng, 3 * F), next: randomArray(rng, F), steps: 4, base: base(), units },
      {
        state: randomArray(rng, model.stateSize, 0.5),
        next: randomArray(rng, F),
        steps: 2,
        base: base(),
        units,
      },
      { feed: randomArray(rng, F), next: randomArray(rng, F), steps: 1, base: base(), units },
    ];
    const batched = counted(model);
    const outcomes = forecastBatch({ model: batched, jobs });
    assert.equal(batched.calls, 7, '3 fed rows + 4 forecasts');
    jobs.forEach((job, j) => {
      let state = job.state ?? new Float32Array(model.stateSize);
      const feedRows = (job.feed?.length ?? 0) / F;
      for (let r = 0; r < feedRows; r++)
        state = stepAlone(
          model,
          { features: job.feed!.subarray(r * F, (r + 1) * F) },
          state,
        ).state.slice();
      let input = job.next;
      const level = Array.from(job.base);
      const expected = new Float32Array(job.steps * F);
      for (let s = 0; s < job.steps; s++) {
        const out = stepAlone(model, { features: input }, state);
        for (let f = 0; f < F; f++) level[f] = level[f]! + out.outputs[f]! * (0.5 + f);
        expected.set(level, s * F);
        input = Float32Array.from(level, (v) => (v - 2) / 2);
        state = out.state.slice();
      }
      assertClose(Float32Array.from(outcomes[j]!.forecasts), expected, `job ${j} forecasts`);
      assertClose(outcomes[j]!.state, state, `job ${j} state`);
    });
    assert.throws(
      () =>
        forecastBatch({
          model,
          jobs: [
            { next: new Float32Array(F), steps: 1, base: base(), units },
            { next: new Float32Array(2), steps: 1, base: base(), units },
          ],
        }),
      /^RangeError: jobs\[1\]: next has 2 values: must be 3 finite standardised features \(fix: /,
    );
    assert.throws(
      () =>
        forecastBatch({
          model,
          jobs: [
            { next: new Float32Array(F), steps: 1, base: new Float64Array(F).fill(NaN), units },
          ],
        }),
      /base has 3 values: must be 3 finite values in original units/,
    );
  } finally {
    model.dispose();
  }
});

test("replaying a key's last n steps recomputes the outputs the model gave them", () => {
  const rng = createRng(5);
  const model = RecurrentModel.create({
    spec: makeSpec({ task: 'tag', cell: 'lstm', layers: 2 }),
    seed: 13,
  });
  try {
    const { spec } = model;
    const options = { k1: 3, k2: 5 };
    const key = new KeySequence({
      key: 'user-1',
      stateSize: model.stateSize,
      schedule: truncatedSchedule(options),
      buffer: new StepRingBuffer({
        capacity: 5,
        inputKind: 'tokens',
        targetKind: 'class',
        featureSize: spec.featureSize,
      }),
      initialToken: spec.vocabSize,
    });
    // Step the key as the learner does (tag: the input is the event's own token), training when ready.
    const outputs: Float32Array[] = [];
    const snapshots = [];
    for (let event = 0; event < 14; event++) {
      const token = Math.floor(rng.uniform() * spec.vocabSize);
      const out = stepAlone(model, { token }, key.state);
      outputs.push(out.outputs.slice());
      key.advance({ inputToken: token, classTarget: 0, hasLoss: true }, out.state, 0);
      if (key.ready) key.markTrained();
      snapshots.push(key.toSnapshot());
    }

    let checked = 0;
    for (const snapshot of snapshots) {
      const most = replayableSteps(snapshot);
      // A young key replays from the zero state; later the stored window starts bound the replay.
      assert.ok(most >= Math.min(snapshot.position, 2), `position ${snapshot.position}: ${most}`);
      for (let n = 1; n <= most; n++) {
        const replay = replayLastSteps({ key: snapshot, n, spec });
        const [outcome] = labelBatch({ model, jobs: [{ ...replay, keep: 'each' }] });
        const expected = new Float32Array(n * spec.outputSize);
        outputs
          .slice(snapshot.position - n, snapshot.position)
          .forEach((row, i) => expected.set(row, i * spec.outputSize));
        assertClose(outcome!.outputs, expected, `position ${snapshot.position}, n ${n}`);
        assertClose(outcome!.state, snapshot.state, `position ${snapshot.position}, n ${n} state`);
        checked++;
      }
      assert.throws(() => replayLastSteps({ key: snapshot, n: most + 1, spec }), {
        name: 'RangeError',
        message: new RegExp(
          `^n = ${most + 1}: key 'user-1' can replay at most its last ${most} steps .*\\(fix: ask for at most ${most} steps, or raise tbptt\\.k2`,
        ),
      });
    }
    assert.ok(checked >= 20, `${checked} replays checked`);
  } finally {
    model.dispose();
  }
});

test('bad labelling jobs are refused with their index, the value and the fix before any model step', () => {
  const model = RecurrentModel.create({
    spec: makeSpec({ task: 'tag', cell: 'rnn' }),
    seed: 14,
  });
  try {
    const batched = counted(model);
    const good: LabelJob = { tokens: Int32Array.of(1, 2), steps: 2, keep: 'each' };
    const refuse = (bad: Partial<LabelJob> | Record<string, unknown>, message: RegExp): void =>
      assert.throws(
        () => labelBatch({ model: batched, jobs: [good, { ...good, ...bad } as LabelJob] }),
        { name: 'RangeError', message },
      );
    refuse({ steps: 0 }, /^jobs\[1\]: steps = 0: must be an integer ≥ 1 \(fix: /);
    refuse({ keep: 'first' }, /^jobs\[1\]: keep = "first": must be 'each' or 'last'/);
    refuse({ skip: 2 }, /^jobs\[1\]: skip = 2: must be below steps = 2/);
    refuse({ tokens: Int32Array.of(1) }, /^jobs\[1\]: tokens has 1 ids for 2 steps/);
    refuse(
      { tokens: Int32Array.of(1, 8) },
      /^jobs\[1\]: tokens\[1\] = 8: not an input id in \[0, 7\]/,
    );
    refuse(
      { state: new Float32Array(2) },
      /^jobs\[1\]: state has 2 values: must be 6 finite values/,
    );
    assert.equal(batched.calls, 0);
    assert.throws(
      () => forecastBatch({ model, jobs: [] }),
      /^RangeError: model task = 'tag'.*forecasting feeds each prediction back/,
    );
  } finally {
    model.dispose();
  }
});
