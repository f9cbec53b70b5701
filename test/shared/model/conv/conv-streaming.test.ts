/**
 * The convolutional front end in a stream: a window that starts mid-sequence reads the inputs
 * before it from the conv context of its start state, so it computes exactly what one unbroken
 * run computes; stepping event by event (the learner's prequential predictions, the decoder's
 * generation) computes exactly what the TBPTT window forward computes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../../../shared/decoding/index.js';
import {
  bosTokenId,
  recurrentStateSize,
  stateSize,
  type ModelSpec,
} from '../../../../shared/model/model-spec.js';
import { RecurrentModel } from '../../../../shared/model/recurrent-model.js';
import type { TrainingBatch } from '../../../../shared/model/training-batch.js';
import { KeySequence } from '../../../../shared/tbptt/key-sequence.js';
import { StepRingBuffer } from '../../../../shared/tbptt/step-ring-buffer.js';
import { buildWindowBatch } from '../../../../shared/tbptt/window-batch.js';
import { truncatedSchedule } from '../../../../shared/tbptt/window-schedule.js';
import { createTestRng } from '../../../support/finite-differences.js';
import {
  backendsUnderTest,
  makeSpec,
  maxAbsDiff,
  perturbedArrays,
  useBackend,
} from '../model-test-helpers.js';

const TOL = 2e-5;

const tokenSpec: ModelSpec = {
  ...makeSpec({ task: 'lm', cell: 'lstm', vocabSize: 9, hidden: 6, embedding: 4 }),
  conv: { kernelWidth: 3, channels: 5, dilation: 2, activation: 'tanh', layers: 2 },
};
const featureSpec: ModelSpec = {
  ...makeSpec({ task: 'forecast', cell: 'gru', featureSize: 2, hidden: 5, embedding: 3 }),
  conv: { kernelWidth: 2, channels: 4, dilation: 3, activation: 'relu', layers: 1 },
};

/** One key's inputs and targets for `n` steps (lm: BOS first; forecast: random vectors). */
function stream(spec: ModelSpec, n: number, seed: number) {
  const rng = createTestRng(seed);
  const F = spec.featureSize;
  if (spec.inputKind === 'tokens') {
    const tokens = Int32Array.from({ length: n }, () => rng.int(spec.vocabSize));
    const inputs = Int32Array.from({ length: n }, (_, t) =>
      t === 0 ? bosTokenId(spec) : tokens[t - 1]!,
    );
    return { tokens: inputs, classTargets: tokens };
  }
  const features = Float32Array.from({ length: n * F }, () => rng.normal());
  const regressionTargets = Float32Array.from({ length: n * F }, () => rng.normal());
  return { features, regressionTargets };
}

type Stream = ReturnType<typeof stream>;

/** Steps [from, to) of a stream as a one-row batch starting from `initialState`. */
function slice(
  spec: ModelSpec,
  s: Stream,
  from: number,
  to: number,
  initialState: Float32Array,
): TrainingBatch {
  const F = spec.featureSize;
  const T = to - from;
  return {
    batchSize: 1,
    steps: T,
    tokens: s.tokens?.slice(from, to),
    classTargets: s.classTargets?.slice(from, to),
    features: s.features?.slice(from * F, to * F),
    regressionTargets: s.regressionTargets?.slice(from * F, to * F),
    lossMask: new Float32Array(T).fill(1),
    validMask: new Float32Array(T).fill(1),
    initialState,
  };
}

/** A model with non-degenerate (perturbed) parameters: biases matter, relu units are not all off. */
function modelFor(spec: ModelSpec): RecurrentModel {
  const model = RecurrentModel.create({ spec, seed: 7 });
  model.params.assignArrays(
    perturbedArrays(model.params.toArrays(), (n) => model.params.shapeOf(n), 99),
  );
  return model;
}

const backends = await backendsUnderTest();

for (const backend of backends) {
  for (const spec of [tokenSpec, featureSpec]) {
    const what = `${spec.task} on ${spec.inputKind} (k ${spec.conv!.kernelWidth}, d ${spec.conv!.dilation}, ${spec.conv!.layers} conv layers)`;

    test(`${what}: a window from mid-sequence with its start state's conv context equals one unbroken run on ${backend.name}`, async (t) => {
      if (!backend.available) return t.skip(backend.reason);
      await useBackend(backend.name);
      const model = modelFor(spec);
      try {
        const n = 24;
        const s = stream(spec, n, 5);
        const O = spec.outputSize;
        const S = stateSize(spec);
        const whole = model.forward(slice(spec, s, 0, n, new Float32Array(S)));
        for (const start of [1, 5, 11]) {
          // The state after `start` steps: recurrent state and the conv context of raw inputs.
          const before = model.forward(slice(spec, s, 0, start, new Float32Array(S)));
          const window = slice(spec, s, start, n, before.finalState);
          const part = model.forward(window);
          const diff = maxAbsDiff(part.outputs, whole.outputs.subarray(start * O));
          assert.ok(diff.max <= TOL, `start ${start}: outputs differ by ${diff.max}`);
          const state = maxAbsDiff(part.finalState, whole.finalState);
          assert.ok(state.max <= TOL, `start ${start}: final states differ by ${state.max}`);

          // The window's loss is the unbroken run's loss on the window's steps.
          const mask = new Float32Array(n);
          mask.fill(1, start);
          const wholeLoss = model.loss({
            ...slice(spec, s, 0, n, new Float32Array(S)),
            lossMask: mask,
          });
          const windowLoss = model.loss(window);
          assert.ok(
            Math.abs(windowLoss - wholeLoss) <= 1e-5 * Math.abs(wholeLoss),
            `start ${start}: window loss ${windowLoss} vs unbroken ${wholeLoss}`,
          );

          // Sensitivity: without the context (an empty one) the first outputs change — once the
          // receptive field of the window's first step reaches a real input before the window.
          if (start >= 5) {
            const noContext = before.finalState.slice();
            noContext.fill(0, recurrentStateSize(spec));
            const blind = model.forward({ ...window, initialState: noContext });
            const first = maxAbsDiff(
              blind.outputs.subarray(0, O),
              whole.outputs.subarray(start * O, start * O + O),
            );
            assert.ok(
              first.max > 1e-3,
              `start ${start}: dropping the context should change the first output`,
            );
          }
        }
      } finally {
        model.dispose();
      }
    });

    test(`${what}: stepping event by event equals the forward of the TBPTT windows, left-padded in one batch, on ${backend.name}`, async (t) => {
      if (!backend.available) return t.skip(backend.reason);
      await useBackend(backend.name);
      const model = modelFor(spec);
      try {
        const F = spec.featureSize;
        const S = model.stateSize;
        const O = spec.outputSize;
        // Keys at different positions: two mid-sequence windows of 5 and 4 steps (the shorter one
        // left-padded in the batch) and a young key whose window starts at the sequence start.
        const lengths = [18, 17, 6];
        const keys = lengths.map((n, i) => ({
          s: stream(spec, n, 20 + i),
          seq: new KeySequence({
            key: `k${i}`,
            stateSize: S,
            schedule: truncatedSchedule({ k1: 4, k2: 7 }),
            initialToken: bosTokenId(spec),
            buffer: new StepRingBuffer({
              capacity: 7,
              inputKind: spec.inputKind,
              targetKind: spec.task === 'forecast' ? 'regression' : 'class',
              featureSize: F,
            }),
          }),
          stepped: [] as Float32Array[],
        }));
        for (const { s, seq, stepped } of keys) {
          const n = s.tokens?.length ?? s.features!.length / F;
          for (let t = 0; t < n; t++) {
            const { outputs, state } = model.predictStep({
              batchSize: 1,
              tokens: s.tokens?.subarray(t, t + 1),
              features: s.features?.subarray(t * F, t * F + F),
              state: seq.state,
            });
            stepped.push(outputs.slice());
            seq.advance(
              {
                inputToken: s.tokens?.[t],
                inputFeatures: s.features?.slice(t * F, t * F + F),
                classTarget: s.classTargets?.[t],
                regressionTarget: s.regressionTargets?.slice(t * F, t * F + F),
                hasLoss: true,
              },
              state,
              0,
            );
            // Keep training bookkeeping as the learner does, so windows start at stored states.
            if (seq.ready && t < n - 1) seq.markTrained();
          }
        }
        const windows = keys.map((k) => k.seq.window());
        assert.deepEqual(
          windows.map((w) => [w.length, w.startState !== undefined]),
          [
            [5, true],
            [4, true],
            [6, false],
          ],
        );
        const batch = buildWindowBatch({ spec, keys: keys.map((k) => k.seq), windows });
        const forward = model.forward(batch);
        keys.forEach(({ stepped, seq }, b) => {
          const { length } = windows[b]!;
          for (let back = 0; back < length; back++) {
            const at = b * batch.steps + batch.steps - 1 - back;
            let row: ArrayLike<number> = forward.outputs.subarray(at * O, at * O + O);
            if (spec.task !== 'forecast') row = softmax(row);
            const diff = maxAbsDiff(row, stepped[stepped.length - 1 - back]!);
            assert.ok(diff.max <= TOL, `key ${b}, ${back} steps back: step vs window ${diff.max}`);
          }
          const state = maxAbsDiff(forward.finalState.subarray(b * S, b * S + S), seq.state);
          assert.ok(
            state.max <= TOL,
            `key ${b}: final state (with conv context) differs by ${state.max}`,
          );
        });
      } finally {
        model.dispose();
      }
    });
  }

  test(`greedy generation of a conv language model (the decoder's steps) equals the window forward on ${backend.name}`, async (t) => {
    if (!backend.available) return t.skip(backend.reason);
    await useBackend(backend.name);
    const spec = tokenSpec;
    const model = modelFor(spec);
    try {
      const prompt = [3, 1, 4, 1, 5];
      const { tokens, logProb } = generate({
        model,
        prompt,
        maxTokens: 8,
        strategy: { kind: 'greedy' },
      });
      assert.equal(tokens.length, 8);
      const inputs = Int32Array.from([bosTokenId(spec), ...prompt, ...tokens.slice(0, -1)]);
      const T = inputs.length;
      const { outputs } = model.forward({
        batchSize: 1,
        steps: T,
        tokens: inputs,
        classTargets: new Int32Array(T),
        lossMask: new Float32Array(T),
        validMask: new Float32Array(T).fill(1),
        initialState: new Float32Array(model.stateSize),
      });
      const V = spec.vocabSize;
      let expected = 0;
      tokens.forEach((token, i) => {
        const at = prompt.length + i;
        const p = softmax(outputs.subarray(at * V, at * V + V));
        assert.equal(argmax(p), token, `generated token ${i} is the window's argmax`);
        expected += Math.log(p[token]!);
      });
      assert.ok(Math.abs(logProb - expected) <= 1e-4, `log prob ${logProb} vs window ${expected}`);
    } finally {
      model.dispose();
    }
  });
}

function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = Float64Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! - max));
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / sum);
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
