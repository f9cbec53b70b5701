/**
 * The bidirectional tag/classify model (shared/model/bidirectional) against an independent float64
 * reference (test/support/reference-bidirectional.ts): the same loss and logits, gradients equal to
 * central finite differences, and an encoder whose backward direction starts at each row's own
 * last real step (padding after or before a row changes nothing at its real steps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../../shared/engine/tf.js';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import { cells } from '../../../../shared/model/cells/index.js';
import { GENERIC_KERNELS } from '../../../../shared/model/layer-kernels.js';
import type { CellType, ModelSpec, TaskType } from '../../../../shared/model/model-spec.js';
import { RecurrentModel } from '../../../../shared/model/recurrent-model.js';
import type { TrainingBatch } from '../../../../shared/model/training-batch.js';
import {
  runBidirectionalEncoder,
  validMaskOfLengths,
} from '../../../../shared/model/bidirectional/bidirectional-encoder.js';
import { createRng } from '../../../../shared/model/random.js';
import { createTestRng } from '../../../support/finite-differences.js';
import {
  bidirectionalFiniteDifferences,
  bidirectionalReferenceShapes,
  referenceBidirectional,
} from '../../../support/reference-bidirectional.js';

// float32 analytic gradients vs float64 central differences (eps 1e-6, exact to ~1e-9): the same
// tolerances as test/shared/model/gradients.test.ts, ~30× looser than float32 round-off over a few
// steps and far tighter than a real mistake (a missing direction, a reversed step, a wrong mask).
const GRAD_ABS_TOL = 1e-5;
const GRAD_REL_TOL = 1e-3;
const LOSS_REL_TOL = 1e-5;

function bidirectionalSpec(cell: CellType, task: TaskType, layers: number): ModelSpec {
  return {
    task,
    inputKind: 'tokens',
    vocabSize: 6,
    featureSize: 0,
    outputSize: 3,
    cell,
    layers,
    hidden: 4,
    embedding: 3,
    peepholes: false,
    coupledGates: false,
    dropout: 0,
    recurrentDropout: 0,
    bidirectional: true,
  };
}

/**
 * Rows of different lengths, right-padded after the segment (as the learner lays segments out);
 * tag: a loss at most real steps, classify: at each row's last real step only.
 */
function segmentBatch(spec: ModelSpec, lengths: number[], seed: number): TrainingBatch {
  const rng = createTestRng(seed);
  const steps = Math.max(...lengths);
  const n = lengths.length * steps;
  const validMask = validMaskOfLengths(lengths, steps);
  const tokens = Int32Array.from({ length: n }, () => rng.int(spec.vocabSize));
  const classTargets = Int32Array.from({ length: n }, () => rng.int(spec.outputSize));
  const lossMask = new Float32Array(n);
  lengths.forEach((length, b) => {
    if (spec.task === 'classify') lossMask[b * steps + length - 1] = 1;
    else for (let t = 0; t < length; t++) lossMask[b * steps + t] = t === 1 && b === 0 ? 0 : 1;
  });
  return {
    batchSize: lengths.length,
    steps,
    tokens,
    classTargets,
    lossMask,
    validMask,
    initialState: new Float32Array(0),
  };
}

/** The model's initial values with a seeded perturbation (biases too), so no gradient is trivial. */
function perturbed(model: RecurrentModel, seed: number): Map<string, Float32Array> {
  const rng = createTestRng(seed);
  const arrays = model.params.toArrays();
  for (const values of arrays.values())
    for (let i = 0; i < values.length; i++) values[i] = values[i]! + 0.3 * rng.normal();
  return arrays;
}

/** A seeded handful of entries of every parameter (every entry of a small one). */
function entriesToProbe(shapes: Map<string, number[]>, seed: number): Map<string, number[]> {
  const rng = createTestRng(seed);
  const entries = new Map<string, number[]>();
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    const picked = new Set<number>();
    while (picked.size < Math.min(size, 8)) picked.add(rng.int(size));
    entries.set(
      name,
      [...picked].sort((a, b) => a - b),
    );
  }
  return entries;
}

const cases: Array<{ cell: CellType; task: TaskType; layers: number; lengths: number[] }> = [
  { cell: 'rnn', task: 'tag', layers: 2, lengths: [5, 3, 1] },
  { cell: 'gru', task: 'tag', layers: 2, lengths: [4, 2] },
  { cell: 'lstm', task: 'tag', layers: 1, lengths: [3, 5] },
  { cell: 'lstm', task: 'classify', layers: 2, lengths: [4, 2, 3] },
  { cell: 'gru', task: 'classify', layers: 1, lengths: [2, 5] },
];

for (const [index, c] of cases.entries()) {
  test(`bidirectional ${c.cell} ${c.task} (${c.layers} layers, lengths ${c.lengths.join('/')}): loss and gradients agree with float64 central differences`, async () => {
    await tf.setBackend('cpu');
    const spec = bidirectionalSpec(c.cell, c.task, c.layers);
    const model = RecurrentModel.create({ spec, seed: 7 + index, kernels: GENERIC_KERNELS });
    try {
      const shapes = bidirectionalReferenceShapes(spec);
      assert.deepEqual(
        [...model.params.names()].sort(),
        [...shapes.keys()].sort(),
        'the model has exactly the parameters the reference describes',
      );
      for (const [name, shape] of shapes) assert.deepEqual(model.params.shapeOf(name), shape, name);
      const arrays = perturbed(model, 100 + index);
      model.params.assignArrays(arrays);
      const params = new Map([...arrays].map(([n, v]) => [n, Float64Array.from(v)]));
      const batch = segmentBatch(spec, c.lengths, 200 + index);

      const reference = referenceBidirectional(spec, params, batch);
      const { loss, gradients } = model.lossAndGradients(batch);
      assert.ok(
        Math.abs(loss - reference.loss) <= LOSS_REL_TOL * Math.abs(reference.loss),
        `loss ${loss} vs reference ${reference.loss}`,
      );
      const { outputs } = model.forward(batch);
      for (let i = 0; i < outputs.length; i++) {
        const row = Math.floor(i / (batch.steps * spec.outputSize));
        const t = Math.floor(i / spec.outputSize) % batch.steps;
        if (batch.validMask[row * batch.steps + t] === 0) continue;
        assert.ok(Math.abs(outputs[i]! - reference.outputs[i]!) < 1e-5, `logit ${i}`);
      }

      const entries = entriesToProbe(shapes, 300 + index);
      const fd = bidirectionalFiniteDifferences(spec, params, batch, entries);
      let nonZero = 0;
      for (const [name, indices] of entries) {
        const expected = fd.get(name)!;
        const actual = gradients.get(name)!;
        indices.forEach((entry, k) => {
          const want = expected[k]!;
          const got = actual[entry]!;
          if (Math.abs(want) > 1e-4) nonZero++;
          assert.ok(
            Math.abs(got - want) <= GRAD_ABS_TOL + GRAD_REL_TOL * Math.abs(want),
            `d loss / d ${name}[${entry}]: model ${got}, finite differences ${want}`,
          );
        });
      }
      // Both directions of every layer matter: probes of each get a real (non-zero) gradient.
      for (const direction of ['forward', 'backward'])
        for (let l = 0; l < spec.layers; l++) {
          const name = [...entries.keys()].find((n) => n.startsWith(`layer${l}/${direction}/`))!;
          assert.ok(
            fd.get(name)!.some((g) => Math.abs(g) > 1e-6),
            `${name} has a gradient: the ${direction} direction of layer ${l} reaches the loss`,
          );
        }
      assert.ok(nonZero > 10, `enough non-trivial gradient entries were probed (${nonZero})`);
    } finally {
      model.dispose();
    }
  });
}

test('the backward direction starts at each row’s own last real step: padding before or after a row changes none of its real steps', async () => {
  await tf.setBackend('cpu');
  const cell = cells.gru;
  const hidden = 3;
  const rng = createRng(5);
  const layer = (inputSize: number) => {
    const options = { inputSize, hidden, peepholes: false, coupledGates: false };
    const make = () =>
      Object.fromEntries(
        cell
          .createParams(options, rng)
          .map((p): [string, Tensor2D] => [
            p.name,
            tf.tensor(p.values, [...p.shape]) as unknown as Tensor2D,
          ]),
      );
    return { forward: make(), backward: make(), options };
  };
  const layers = [layer(2), layer(2 * hidden)];
  const real = [
    [0.5, -1],
    [1, 0.25],
    [-0.75, 0.5],
  ];
  const zero = [0, 0];
  // One row alone, then the same steps with 2 padded steps after, and with 1 before and 1 after.
  const run = (rows: number[][][], valid: Float32Array) =>
    tf.tidy(() => {
      const { outputs, forwardFinal, backwardFinal } = runBidirectionalEncoder({
        cell,
        layers,
        inputs: tf.tensor3d(rows) as Tensor3D,
        valid,
      });
      return {
        outputs: outputs.arraySync(),
        forwardEnd: forwardFinal[1]![0]!.arraySync(),
        backwardEnd: backwardFinal[1]![0]!.arraySync(),
      };
    });
  const alone = run([real], validMaskOfLengths([3], 3));
  const after = run([[...real, zero, zero]], validMaskOfLengths([3], 5));
  const around = run([[zero, ...real, zero]], Float32Array.from([0, 1, 1, 1, 0]));
  const close = (a: number[], b: number[], what: string) =>
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-6, `${what}: ${v} vs ${b[i]}`));
  for (let t = 0; t < 3; t++) {
    close(after.outputs[0]![t]!, alone.outputs[0]![t]!, `padding after, step ${t}`);
    close(around.outputs[0]![t + 1]!, alone.outputs[0]![t]!, `padding around, step ${t}`);
  }
  close(after.forwardEnd[0]!, alone.forwardEnd[0]!, 'forward end, padding after');
  close(after.backwardEnd[0]!, alone.backwardEnd[0]!, 'backward end, padding after');
  close(around.backwardEnd[0]!, alone.backwardEnd[0]!, 'backward end, padding around');
  // The backward half at the first step is the backward end state: it read the whole row.
  close(alone.outputs[0]![0]!.slice(hidden), alone.backwardEnd[0]!, 'h← at step 0');
  close(alone.outputs[0]![2]!.slice(0, hidden), alone.forwardEnd[0]!, 'h→ at the last step');
  for (const t of [3, 4])
    assert.ok(
      after.outputs[0]![t]!.every((v) => v === 0),
      'padding is 0',
    );
  // And the backward state at step 0 does depend on the last step (it is not a forward copy).
  const changedLast = run([[real[0]!, real[1]!, [2, 2]]], validMaskOfLengths([3], 3));
  assert.ok(
    changedLast.outputs[0]![0]!.slice(hidden).some(
      (v, i) => Math.abs(v - alone.outputs[0]![0]![hidden + i]!) > 1e-4,
    ),
    'h← at step 0 sees the last step',
  );
  for (const l of layers)
    for (const p of [...Object.values(l.forward), ...Object.values(l.backward)]) p.dispose();
});
