import { tf } from '../engine/tf.js';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

/**
 * Embedding rows `table[ids[i]]` as [n, E], differentiable with respect to `table`, for the
 * synchronous backends (wasm, cpu), where tfjs' own lookup is slow or not differentiable: the
 * gradient of `gather` needs UnsortedSegmentSum, which the wasm backend lacks and the cpu backend
 * runs as one masked sum per table row, and wasm's Gather kernel itself takes ~12 ms for 2,048
 * rows of 64. Both directions are plain row copies in JavaScript instead: forward copies the rows
 * out of the table, backward adds the rows of dy into their table rows (float64 accumulation,
 * what UnsortedSegmentSum computes); rows of ids that do not occur get exactly zero. (The one-hot
 * product oneHot(ids) · table used before cost a [n, V] one-hot, two products and a transpose.)
 */
export function embeddingRows(table: Tensor2D, ids: Int32Array): Tensor2D {
  const [rows, width] = table.shape;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < rows))
      throw new ShapeError(`token id ${id} at position ${i} is outside the embedding [0, ${rows})`);
  }
  const lookup = tf.customGrad((...args: unknown[]) => {
    const values = (args[0] as Tensor2D).dataSync();
    const out = new Float32Array(ids.length * width);
    for (let i = 0; i < ids.length; i++) {
      const from = ids[i]! * width;
      out.set(values.subarray(from, from + width), i * width);
    }
    const gradFunc = (dy: Tensor): Tensor[] => {
      const g = dy.dataSync();
      const sums = new Float64Array(rows * width);
      for (let i = 0; i < ids.length; i++) {
        const to = ids[i]! * width;
        const from = i * width;
        for (let j = 0; j < width; j++) sums[to + j]! += g[from + j]!;
      }
      return [tf.tensor2d(Float32Array.from(sums), [rows, width])];
    };
    return { value: tf.tensor2d(out, [ids.length, width]), gradFunc };
  }) as unknown as (t: Tensor2D) => Tensor2D;
  return lookup(table);
}
