import { tf } from '../../engine/tf.js';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { embeddingRows } from '../embedding.js';
import type { CellParams } from '../cells/index.js';
import type { ParameterSet } from '../parameter-set.js';

/**
 * The cell parameters of `<prefix>/layer<l>/*` by their local names; with `layer` undefined,
 * of `<prefix>/<direction>/*` (a bidirectional layer's direction).
 */
export function layerParams(
  params: ParameterSet,
  prefix: string,
  layer: number | undefined,
  direction?: 'forward' | 'backward',
): CellParams {
  const start = layer === undefined ? `${prefix}/${direction}/` : `${prefix}/layer${layer}/`;
  const out: Record<string, Tensor2D | Tensor1D> = {};
  for (const name of params.names())
    if (name.startsWith(start))
      out[name.slice(start.length)] = params.get(name) as Tensor2D | Tensor1D;
  return out;
}

/**
 * Rows `table[ids]` as [n, E]: tf.gather on the native backend; elsewhere the JavaScript lookup
 * of ../embedding.ts, whose gradient does not need UnsortedSegmentSum (missing on wasm).
 */
export function lookupRows(table: Tensor2D, ids: Int32Array): Tensor2D {
  if (tf.getBackend() === 'tensorflow') return tf.gather(table, tf.tensor1d(ids, 'int32'));
  return embeddingRows(table, ids);
}

/** Splits one layer's flat state [B, S_l] into its cell's parts ([h] or [h, c]). */
export function stateParts(layerState: Tensor2D, parts: number): Tensor2D[] {
  return parts === 1 ? [layerState] : (tf.split(layerState, parts, 1) as Tensor2D[]);
}
