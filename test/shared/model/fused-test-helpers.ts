/**
 * Shared by the fused-kernel tests (fused-lstm, fused-gru): running one model's parameters and a
 * batch through a chosen path (a KernelChoice, as RNNSTREAM_FUSED would give), comparing fused
 * against generic results, and the tolerance.
 */
import assert from 'node:assert/strict';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import {
  fusedKernelStats,
  resetFusedKernelStats,
  type FusedKernelStats,
} from '../../../shared/model/fused/index.js';
import type { FusedSetting } from '../../../shared/engine/flags.js';
import { tf } from '../../../shared/engine/tf.js';
import type { NativeOps } from '../../../shared/model/fused/native-ops.js';
import type { TrainingBatch } from '../../../shared/model/training-batch.js';
import {
  backendsUnderTest,
  makeSpec,
  perturbedArrays,
  type BatchOptions,
  type SpecOptions,
} from './model-test-helpers.js';

// Tolerance, per entry: |fused − generic| ≤ ABS_TOL + REL_TOL · max(|fused|, |generic|).
// Both paths compute in float32 (unit round-off 6e-8) the same formulas in a different order
// (TensorFlow's fused kernels accumulate the weight gradients over the steps in another order
// than tfjs autodiff, and sum the gate products differently). Over ≤ 6 steps of O(1) values the
// differences observed are ~1e-7 relative; 1e-5 relative + 1e-6 absolute leaves a wide margin,
// while a wrong gate, a missing peephole term or a lost gradient path gives errors of 1e-2 or more.
export const REL_TOL = 1e-5;
export const ABS_TOL = 1e-6;

export type Mode = 'generic' | 'block' | 'cell' | 'auto';
/** The RNNSTREAM_FUSED setting of each mode: generic is `RNNSTREAM_FUSED=0`. */
const FUSED: Record<Mode, FusedSetting> = {
  generic: 'off',
  block: 'block',
  cell: 'cell',
  auto: 'auto',
};

/** `model`'s parameters run through the path of `mode`. */
export function inMode(model: RecurrentModel, mode: Mode): RecurrentModel {
  return model.withKernels({ fused: FUSED[mode], window: 'auto' });
}

export interface Run {
  loss: number;
  lossSum: number;
  count: number;
  gradients: Map<string, Float32Array>;
  outputs: Float32Array;
  finalState: Float32Array;
  stats: FusedKernelStats;
}

export function run(model: RecurrentModel, batch: TrainingBatch, mode: Mode): Run {
  const path = inMode(model, mode);
  resetFusedKernelStats();
  const lg = path.lossAndGradients(batch);
  const fwd = path.forward(batch);
  return { ...lg, ...fwd, stats: fusedKernelStats() };
}

/**
 * One training step (the kernel probe and tfjs' own lazily created tensors are not leaks), then
 * 20 more: live tfjs tensors and TensorFlow handles before and after the 20, and their path counts.
 */
export function twentyTrainingSteps(path: RecurrentModel, batch: TrainingBatch, native: NativeOps) {
  for (const g of path.lossAndGradientTensors(batch).gradients.values()) g.dispose();
  const before = { tensors: tf.memory().numTensors, handles: native.nativeTensorCount() };
  resetFusedKernelStats();
  for (let step = 0; step < 20; step++) {
    const { gradients } = path.lossAndGradientTensors(batch);
    for (const g of gradients.values()) g.dispose();
  }
  const after = { tensors: tf.memory().numTensors, handles: native.nativeTensorCount() };
  return { before, after, stats: fusedKernelStats() };
}

export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const [a, b] = [got[i]!, want[i]!];
    const bound = ABS_TOL + REL_TOL * Math.max(Math.abs(a), Math.abs(b));
    assert.ok(
      Math.abs(a - b) <= bound,
      `${what}[${i}]: fused ${a} vs generic ${b} (|diff| ${Math.abs(a - b)} > ${bound})`,
    );
  }
}

export function assertSameResults(
  fused: Run,
  generic: Run,
  model: RecurrentModel,
  label: string,
): void {
  assert.equal(fused.count, generic.count, `${label}: count`);
  assertClose(
    [fused.loss, fused.lossSum],
    [generic.loss, generic.lossSum],
    `${label}: loss, lossSum`,
  );
  assert.deepEqual(
    [...fused.gradients.keys()].sort(),
    [...model.params.names()].sort(),
    `${label}: a gradient for every parameter`,
  );
  for (const name of model.params.names())
    assertClose(
      fused.gradients.get(name)!,
      generic.gradients.get(name)!,
      `${label}: gradient of ${name}`,
    );
  assertClose(fused.outputs, generic.outputs, `${label}: outputs`);
  assertClose(fused.finalState, generic.finalState, `${label}: final state`);
}

/** Model on the active backend with initial parameters perturbed so that biases and peepholes matter. */
export function createModel(spec: SpecOptions, seed: number): RecurrentModel {
  const model = RecurrentModel.create({ spec: makeSpec(spec), seed });
  model.params.assignArrays(
    perturbedArrays(model.params.toArrays(), (n) => model.params.shapeOf(n), seed + 1),
  );
  return model;
}

const backends = await backendsUnderTest();
const tensorflow = backends.find((b) => b.name === 'tensorflow');
export const skip: string | false = tensorflow?.available
  ? false
  : (tensorflow?.reason ?? 'tensorflow backend not available');

export const NO_PADDING = { batchSize: 3, steps: 6, padding: [0, 0, 0] };

export interface Case {
  what: string;
  spec: SpecOptions;
  batch: Omit<BatchOptions, 'seed'>;
}
