/**
 * A stack of bidirectional recurrent layers over a padded batch: the encoder of a tag/classify
 * model on complete segments, and of a sequence-to-sequence model's source.
 *
 * API (keep it small and stable: other models reuse it):
 *
 *   runBidirectionalEncoder({ cell, layers, inputs, valid, runLayer? })
 *     cell     one CellDefinition (./cells: a pure step function) for every layer and direction
 *     layers   per layer { forward, backward } cell parameters and the CellOptions of both
 *              directions (inputSize E for layer 0, 2H above it), optional dropout masks
 *     inputs   [B, T, E] layer-0 inputs
 *     valid    [B*T] 1 at a row's real steps, 0 at padding: the real steps of a row are ONE
 *              contiguous run (right padding after a segment, left padding before it, or both;
 *              validMaskOfLengths() builds it from per-row lengths)
 *     runLayer the kernel of one direction's window (default: the generic time loop)
 *   returns
 *     outputs       [B, T, 2H] the top layer's [h→_t, h←_t] at every step, 0 at padded steps
 *     forwardFinal  per layer, the forward state parts after the row's last real step
 *     backwardFinal per layer, the backward state parts after it read the row's first real step
 *
 * The backward direction reads the time-reversed batch with the reversed mask: a row's padding
 * after its segment comes first there and carries the zero start state unchanged, so the backward
 * cell starts at the row's own last real step with state 0 (reversal within each row's length,
 * not of the padded tail). Everything is tfjs ops (tf.reverse, the cells' step functions), so
 * tf.grad / tf.variableGrads differentiate it. Call inside tf.tidy (or a gradient function).
 */
import { tf } from '../../engine/tf.js';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import { ShapeError } from '../../errors/index.js';
import type { CellDefinition, CellOptions, CellParams } from '../cells/index.js';
import type { LayerKernel } from '../layer-kernels.js';
import { runLayerSequence } from '../time-loop.js';

export interface BidirectionalLayer {
  readonly forward: CellParams;
  readonly backward: CellParams;
  /** The options of both directions: inputSize is E for layer 0, 2H for the layers above. */
  readonly options: CellOptions;
  /** Variational dropout: [B, inputSize] on the layer's inputs (both directions read them). */
  readonly inputMask?: Tensor2D | undefined;
  /** Variational dropout: [B, H] on h_{t-1} of each direction. */
  readonly forwardRecurrentMask?: Tensor2D | undefined;
  readonly backwardRecurrentMask?: Tensor2D | undefined;
}

export interface BidirectionalEncoderInput {
  readonly cell: CellDefinition;
  readonly layers: readonly BidirectionalLayer[];
  /** [B, T, E] inputs of layer 0. */
  readonly inputs: Tensor3D;
  /** [B*T] 1 at real steps (one contiguous run per row), 0 at padding. */
  readonly valid: Float32Array;
  readonly runLayer?: LayerKernel;
}

export interface BidirectionalEncoderOutput {
  /** [B, T, 2H]: the top layer's forward and backward h at every step; 0 at padded steps. */
  readonly outputs: Tensor3D;
  /** Per layer: the forward state parts ([h] or [h, c], each [B, H]) after the last real step. */
  readonly forwardFinal: Tensor2D[][];
  /** Per layer: the backward state parts after reading the first real step. */
  readonly backwardFinal: Tensor2D[][];
}

/** The stacked bidirectional layers over `inputs` (see the module comment). */
export function runBidirectionalEncoder({
  cell,
  layers,
  inputs,
  valid,
  runLayer = runLayerSequence,
}: BidirectionalEncoderInput): BidirectionalEncoderOutput {
  const [batch, steps] = inputs.shape;
  if (layers.length === 0) throw new ShapeError('a bidirectional encoder needs at least one layer');
  if (valid.length !== batch * steps)
    throw new ShapeError(
      `the valid mask has ${valid.length} entries for ${batch} rows × ${steps} steps (expected ${batch * steps})`,
    );
  checkOneRunPerRow(valid, batch, steps);
  const reversedValid = reverseRows(valid, batch, steps);
  const padded = valid.some((v) => v === 0);
  const forwardValid = padded ? perStepMasks(valid, batch, steps) : undefined;
  const backwardValid = padded ? perStepMasks(reversedValid, batch, steps) : undefined;
  const realSteps = tf.tensor3d(valid, [batch, steps, 1]);
  const forwardFinal: Tensor2D[][] = [];
  const backwardFinal: Tensor2D[][] = [];
  let x = inputs;
  for (const layer of layers) {
    const { options } = layer;
    if (x.shape[2] !== options.inputSize)
      throw new ShapeError(
        `a bidirectional layer of input size ${options.inputSize} got inputs of width ${x.shape[2]}`,
      );
    const zeros = (): Tensor2D[] =>
      Array.from({ length: cell.stateParts }, () => tf.zeros([batch, options.hidden]) as Tensor2D);
    const forward = runLayer({
      cell,
      params: layer.forward,
      options,
      inputs: x,
      initial: zeros(),
      valid: forwardValid,
      inputMask: layer.inputMask,
      recurrentMask: layer.forwardRecurrentMask,
    });
    const backward = runLayer({
      cell,
      params: layer.backward,
      options,
      inputs: tf.reverse(x, 1),
      initial: zeros(),
      valid: backwardValid,
      inputMask: layer.inputMask,
      recurrentMask: layer.backwardRecurrentMask,
    });
    forwardFinal.push(forward.final);
    backwardFinal.push(backward.final);
    // Padded steps: the forward direction carries its last state into the tail padding and the
    // backward one into the front padding; neither is a state of a real step, so both become 0.
    const both = tf.concat([forward.outputs, tf.reverse(backward.outputs, 1)], 2) as Tensor3D;
    x = padded ? (tf.mul(both, realSteps) as Tensor3D) : both;
  }
  return { outputs: x, forwardFinal, backwardFinal };
}

/** The valid mask [B*T] of rows whose real steps are their first `lengths[b]` (right padding). */
export function validMaskOfLengths(lengths: readonly number[], steps: number): Float32Array {
  const mask = new Float32Array(lengths.length * steps);
  lengths.forEach((length, b) => {
    if (!(Number.isInteger(length) && length >= 0 && length <= steps))
      throw new ShapeError(
        `row ${b} has length ${length}, not a whole number of steps in [0, ${steps}]`,
      );
    mask.fill(1, b * steps, b * steps + length);
  });
  return mask;
}

/** Reversal within a row's length is only right for one run of real steps per row. */
function checkOneRunPerRow(valid: Float32Array, batch: number, steps: number): void {
  for (let b = 0; b < batch; b++) {
    let runs = 0;
    for (let t = 0; t < steps; t++)
      if (valid[b * steps + t] !== 0 && (t === 0 || valid[b * steps + t - 1] === 0)) runs++;
    if (runs > 1)
      throw new ShapeError(
        `row ${b} of the valid mask has ${runs} runs of real steps; a bidirectional encoder needs one per row (padding only before and after it)`,
      );
  }
}

/** Each row of a [B*T] mask in reverse step order. */
function reverseRows(values: Float32Array, batch: number, steps: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < steps; t++) out[b * steps + t] = values[b * steps + steps - 1 - t]!;
  return out;
}

/** A [B*T] mask as T tensors [B, 1], one per step (the time loop's `valid`). */
function perStepMasks(values: Float32Array, batch: number, steps: number): Tensor2D[] {
  const columns = tf.tensor3d(values, [batch, steps, 1]);
  return steps === 1
    ? [tf.reshape(columns, [batch, 1]) as Tensor2D]
    : (tf.unstack(columns, 1) as Tensor2D[]);
}
