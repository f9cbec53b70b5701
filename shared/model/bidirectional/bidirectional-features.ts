import { tf } from '../../engine/tf.js';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { CellDefinition, CellParams } from '../cells/index.js';
import type { LayerKernel } from '../layer-kernels.js';
import type { ModelSpec } from '../model-spec.js';
import type { DropoutMasks } from '../training-batch.js';
import { runBidirectionalEncoder, type BidirectionalLayer } from './bidirectional-encoder.js';
import {
  bidirectionalLayerOptions,
  bidirectionalParamName,
  type Direction,
} from './bidirectional-params.js';

/** The model's parameters by name (a ParameterSet). */
export interface NamedTensors {
  names(): string[];
  get(name: string): Tensor;
}

/**
 * What the head of a bidirectional tag/classify model reads at every step, [B, T, 2H]:
 * - tag: [h→_t, h←_t] of the top layer, so the label of step t sees the whole segment;
 * - classify: the two ends, [h→ after the last step, h← after the first step], the same at every
 *   step (only the eos step carries a loss and a label). The ends, not a pooled mean: each is the
 *   state of one direction after reading the whole segment, and they are what a sequence-to-
 *   sequence model's decoder starts from too (docs/design.md, "Bidirectional encoders").
 * `valid` is the batch's mask of real steps (one run per row).
 */
export function bidirectionalFeatures({
  spec,
  cell,
  params,
  inputs,
  valid,
  dropoutMasks,
  runLayer,
}: {
  spec: ModelSpec;
  cell: CellDefinition;
  params: NamedTensors;
  inputs: Tensor3D;
  valid: Float32Array;
  dropoutMasks?: DropoutMasks | undefined;
  runLayer?: LayerKernel;
}): Tensor3D {
  const [batch, steps] = inputs.shape;
  const layers: BidirectionalLayer[] = bidirectionalLayerOptions(spec).map((options, layer) => {
    const input = dropoutMasks?.input[layer];
    const recurrent = dropoutMasks?.recurrent[layer];
    const recurrentMask = recurrent && tf.tensor2d(recurrent, [batch, spec.hidden]);
    return {
      forward: directionParams(params, layer, 'forward'),
      backward: directionParams(params, layer, 'backward'),
      options,
      inputMask: input && tf.tensor2d(input, [batch, options.inputSize]),
      // One variational mask per row and layer, shared by both directions.
      forwardRecurrentMask: recurrentMask,
      backwardRecurrentMask: recurrentMask,
    };
  });
  const encoded = runBidirectionalEncoder({
    cell,
    layers,
    inputs,
    valid,
    ...(runLayer ? { runLayer } : {}),
  });
  if (spec.task !== 'classify') return encoded.outputs;
  const top = spec.layers - 1;
  const ends = tf.concat(
    [encoded.forwardFinal[top]![0]!, encoded.backwardFinal[top]![0]!],
    1,
  ) as Tensor2D;
  return tf.tile(tf.expandDims(ends, 1), [1, steps, 1]) as Tensor3D;
}

/** One direction's cell parameters by local name: those named `layer<l>/<direction>/<name>`. */
function directionParams(params: NamedTensors, layer: number, direction: Direction): CellParams {
  const prefix = bidirectionalParamName(layer, direction, '');
  const out: Record<string, Tensor2D | Tensor1D> = {};
  for (const name of params.names())
    if (name.startsWith(prefix))
      out[name.slice(prefix.length)] = params.get(name) as Tensor2D | Tensor1D;
  return out;
}
