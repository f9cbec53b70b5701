/**
 * The encoder: the source's own embedding and recurrent stack over the right-padded sources
 * (reversed before padding when configured, pair-batch.ts). Padded steps carry the state through
 * unchanged (time-loop.ts), so the final state is each source's state after its last real token.
 */
import { tf } from '../../engine/tf.js';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { CellDefinition } from '../cells/index.js';
import type { ParameterSet } from '../parameter-set.js';
import { runLayerSequence } from '../time-loop.js';
import type { SourceBatch } from './pair-batch.js';
import { runBidirectionalEncoder } from '../bidirectional/bidirectional-encoder.js';
import { bidirectionalLayerOptions } from '../bidirectional/bidirectional-params.js';
import { hasBridge, type Seq2seqSpec } from './seq2seq-spec.js';
import { layerParams, lookupRows, stateParts } from './stack-params.js';

export interface EncodedTensors {
  /** [B, T, He] the top layer's output at every source step (what attention reads). */
  readonly memory: Tensor3D;
  /** [B, T] 1 for real source steps. */
  readonly mask: Tensor2D;
  /**
   * Per layer, the state parts after each source's last real token (unidirectional); for a
   * bidirectional encoder the top layer's [h→ after the last token, h← after the first] as one
   * part of one layer — what the bridge reads.
   */
  readonly finalParts: Tensor2D[][];
}

/** Call inside tf.tidy or a gradient function. */
export function encodeSourceTensors(
  spec: Seq2seqSpec,
  cell: CellDefinition,
  params: ParameterSet,
  sources: SourceBatch,
): EncodedTensors {
  const { batchSize, steps } = sources;
  const embedded = lookupRows(params.get('encoder/embedding') as Tensor2D, sources.tokens);
  let x = tf.reshape(embedded, [batchSize, steps, spec.embedding]) as Tensor3D;
  const mask = tf.tensor2d(sources.mask, [batchSize, steps]);
  if (spec.bidirectional) return bidirectionalEncoding(spec, cell, params, sources, x, mask);
  const padded = sources.mask.some((v) => v === 0);
  const valid = padded
    ? (tf.unstack(tf.reshape(mask, [batchSize, steps, 1]), 1) as Tensor2D[])
    : undefined;
  const finalParts: Tensor2D[][] = [];
  for (let layer = 0; layer < spec.layers; layer++) {
    const options = {
      inputSize: layer === 0 ? spec.embedding : spec.encoderHidden,
      hidden: spec.encoderHidden,
      peepholes: spec.peepholes,
      coupledGates: spec.coupledGates,
    };
    const zeros = tf.zeros([batchSize, spec.encoderHidden]) as Tensor2D;
    const { outputs, final } = runLayerSequence({
      cell,
      params: layerParams(params, 'encoder', layer),
      options,
      inputs: x,
      initial: Array.from({ length: cell.stateParts }, () => zeros),
      ...(valid ? { valid } : {}),
    });
    finalParts.push(final);
    x = outputs;
  }
  return { memory: x, mask, finalParts };
}

/** The bidirectional stack of shared/model/bidirectional over the embedded sources. */
function bidirectionalEncoding(
  spec: Seq2seqSpec,
  cell: CellDefinition,
  params: ParameterSet,
  sources: SourceBatch,
  inputs: Tensor3D,
  mask: Tensor2D,
): EncodedTensors {
  const options = bidirectionalLayerOptions({ ...spec, hidden: spec.encoderHidden });
  const { outputs, forwardFinal, backwardFinal } = runBidirectionalEncoder({
    cell,
    layers: options.map((layerOptions, layer) => ({
      forward: layerParams(params, `encoder/layer${layer}`, undefined, 'forward'),
      backward: layerParams(params, `encoder/layer${layer}`, undefined, 'backward'),
      options: layerOptions,
    })),
    inputs,
    valid: sources.mask,
  });
  const top = spec.layers - 1;
  const ends = tf.concat([forwardFinal[top]![0]!, backwardFinal[top]![0]!], 1) as Tensor2D;
  return { memory: outputs, mask, finalParts: [[ends]] };
}

/**
 * The decoder's initial state parts per layer: the encoder's final state as it is when there is
 * no bridge, else tanh(h_enc W + b) as every layer's h (c starts at 0), h_enc the top layer's
 * final h (both directions' for a bidirectional encoder).
 */
export function bridgeState(
  spec: Seq2seqSpec,
  cell: CellDefinition,
  params: ParameterSet,
  finalParts: Tensor2D[][],
): Tensor2D[][] {
  if (!hasBridge(spec)) return finalParts;
  const top = finalParts[finalParts.length - 1]![0]!;
  const all = tf.tanh(
    tf.add(tf.matMul(top, params.get('bridge/W') as Tensor2D), params.get('bridge/b')),
  ) as Tensor2D;
  // tfjs' split gradient breaks when there is a single output (as unstack's, time-loop.ts).
  const perLayer = spec.layers === 1 ? [all] : (tf.split(all, spec.layers, 1) as Tensor2D[]);
  return perLayer.map((h) => (cell.stateParts === 1 ? [h] : [h, tf.zerosLike(h) as Tensor2D]));
}

/** The flat state [B, S] of per-layer parts, layout [h_0, c_0, h_1, c_1, ...]. */
export function flattenState(parts: Tensor2D[][]): Tensor2D {
  const flat = parts.flat();
  return flat.length === 1 ? flat[0]! : (tf.concat(flat, 1) as Tensor2D);
}

/** Per-layer parts of a flat state [B, S]. */
export function unflattenState(
  spec: Seq2seqSpec,
  cell: CellDefinition,
  state: Tensor2D,
): Tensor2D[][] {
  const layers = spec.layers === 1 ? [state] : (tf.split(state, spec.layers, 1) as Tensor2D[]);
  return layers.map((s) => stateParts(s, cell.stateParts));
}
