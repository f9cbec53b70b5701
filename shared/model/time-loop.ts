import { tf } from '../engine/tf.js';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { CellDefinition, CellOptions, CellParams } from './cells/index.js';

export interface LayerSequenceInput {
  readonly cell: CellDefinition;
  readonly params: CellParams;
  readonly options: CellOptions;
  /** [B, T, d] layer inputs. */
  readonly inputs: Tensor3D;
  /** State parts at the window start, each [B, H]. */
  readonly initial: readonly Tensor2D[];
  /** Per step [B, 1] with 1 for real steps and 0 for left padding; undefined = all real. */
  readonly valid?: readonly Tensor2D[];
  /** Variational dropout masks: [B, d] on the inputs, [B, H] on h_{t-1}. */
  readonly inputMask?: Tensor2D;
  readonly recurrentMask?: Tensor2D;
}

/** A layer window's outputs: h of every step [B, T, H], and the state parts at its end. */
export interface LayerSequenceOutput {
  readonly outputs: Tensor3D;
  readonly final: Tensor2D[];
}

/**
 * The generic time loop: one matmul for the input part of all T steps, then the cell's step
 * function per step. Padded steps carry the previous state through unchanged. This is the
 * reference path; fused kernels must agree with it. Call inside tf.tidy.
 */
export function runLayerSequence({
  cell,
  params,
  options,
  inputs,
  initial,
  valid,
  inputMask,
  recurrentMask,
}: LayerSequenceInput): LayerSequenceOutput {
  const [batch, steps, inputSize] = inputs.shape;
  const x = inputMask ? tf.mul(inputs, tf.expandDims(inputMask, 1)) : inputs;
  const { kernel, bias } = cell.inputProjection(params);
  const gateWidth = kernel.shape[1];
  const projected = tf.reshape(
    tf.add(tf.matMul(tf.reshape(x, [batch * steps, inputSize]), kernel), bias),
    [batch, steps, gateWidth],
  );
  // tfjs' unstack gradient breaks when there is a single output (it hands stack a Tensor, not
  // Tensor[]), so a one-step window is reshaped instead.
  const perStep =
    steps === 1
      ? [tf.reshape(projected, [batch, gateWidth]) as Tensor2D]
      : (tf.unstack(projected, 1) as Tensor2D[]);
  let state: Tensor2D[] = [...initial];
  const outputs: Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    let next = cell.step(params, perStep[t]!, state, recurrentMask, options);
    const v = valid?.[t];
    if (v)
      next = next.map(
        (part, i) => tf.add(state[i]!, tf.mul(v, tf.sub(part, state[i]!))) as Tensor2D,
      );
    state = next;
    outputs.push(state[0]!);
  }
  return { outputs: tf.stack(outputs, 1) as Tensor3D, final: state };
}
