/**
 * Pieces shared by the window kernels (lstm-window.ts, gru-window.ts, elman-window.ts).
 */
import { tf } from '../../engine/tf.js';
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs';

/**
 * Named lists of tensors saved by a tf.customGrad forward for its gradient: `save` takes one
 * flat list (and clones every tensor), the gradient gets the clones back in the same order.
 */
export class SavedTensors {
  private readonly tensors: Tensor[] = [];
  private readonly ranges = new Map<string, [number, number]>();

  add(name: string, list: readonly Tensor[]): void {
    this.ranges.set(name, [this.tensors.length, this.tensors.length + list.length]);
    this.tensors.push(...list);
  }

  flat(): Tensor[] {
    return this.tensors;
  }

  /** The list saved under `name`, taken from the gradient's `saved` argument. */
  get<T extends Tensor = Tensor2D>(saved: readonly Tensor[], name: string): T[] {
    const range = this.ranges.get(name);
    if (!range) throw new Error(`nothing saved under '${name}'`);
    return saved.slice(range[0], range[1]) as T[];
  }

  one<T extends Tensor = Tensor2D>(saved: readonly Tensor[], name: string): T {
    return this.get<T>(saved, name)[0]!;
  }
}

/**
 * The constant masks a window kernel's backward reads: per-step padding masks `valid` ([B, 1])
 * and the recurrent dropout mask ([B, H]). They must travel through `save` like any other tensor:
 * the tensors the forward captured are disposed when the forward's scope ends.
 */
export interface WindowMasks {
  readonly valid: readonly Tensor2D[] | undefined;
  readonly recurrent: Tensor2D | undefined;
}

export function saveMasks(saved: SavedTensors, masks: WindowMasks): void {
  saved.add('valid', masks.valid ?? []);
  saved.add('recurrentMask', masks.recurrent ? [masks.recurrent] : []);
}

export function savedMasks(
  saved: SavedTensors,
  s: readonly Tensor[],
  masks: WindowMasks,
): WindowMasks {
  return {
    valid: masks.valid ? saved.get<Tensor2D>(s, 'valid') : undefined,
    recurrent: masks.recurrent ? saved.one<Tensor2D>(s, 'recurrentMask') : undefined,
  };
}

/** [B, T, d] -> [T*B, d] with rows in time-major order (t, b). */
export function timeMajorRows(x: Tensor3D): Tensor2D {
  const [batch, steps, size] = x.shape;
  const xt = steps === 1 || batch === 1 ? x : tf.transpose(x, [1, 0, 2]);
  return tf.reshape(xt, [steps * batch, size]);
}

/** [T*B, d] time-major rows -> [B, T, d]. */
export function batchMajor(rows: Tensor2D, batch: number, steps: number): Tensor3D {
  const size = rows.shape[1];
  const t = tf.reshape(rows, [steps, batch, size]) as Tensor3D;
  return steps === 1 || batch === 1
    ? tf.reshape(t, [batch, steps, size])
    : (tf.transpose(t, [1, 0, 2]) as Tensor3D);
}

/** The T per-step [B, G] blocks of time-major rows [T*B, G]. */
export function stepRows(rows: Tensor2D, steps: number): Tensor2D[] {
  return steps === 1 ? [rows] : (tf.split(rows, steps, 0) as Tensor2D[]);
}

/** The T+extra per-step [B, H] slices of a [B, T', H] gradient. */
export function perStep(t: Tensor3D): Tensor2D[] {
  const [batch, steps, size] = t.shape;
  return steps === 1
    ? [tf.reshape(t, [batch, size]) as Tensor2D]
    : (tf.unstack(t, 1) as Tensor2D[]);
}

/** Stacks per-step [B, H] tensors into [B, T, H] (time axis 1). */
export function stackSteps(list: readonly Tensor2D[]): Tensor3D {
  return tf.stack(list as Tensor2D[], 1) as Tensor3D;
}

/** Time-major rows [T*B, H] from per-step [B, H] tensors (t = 0 first). */
export function concatSteps(list: readonly Tensor2D[]): Tensor2D {
  return list.length === 1 ? list[0]! : (tf.concat(list as Tensor2D[], 0) as Tensor2D);
}

/**
 * The weight gradients of a layer's products over the whole window in ONE matmul:
 * [A₁ | A₂ | … | 1]ᵀ · dZ, split by rows into A₁ᵀdZ, A₂ᵀdZ, …, and the column sums of dZ (the
 * bias gradient). All A's are [N, kᵢ] rows in the same order as dZ's [N, G].
 */
export function windowWeightGradients(
  parts: readonly Tensor2D[],
  dz: Tensor2D,
): { products: Tensor2D[]; columnSums: Tensor2D } {
  const rows = dz.shape[0];
  const stacked = tf.concat([...parts, tf.ones([rows, 1])], 1) as Tensor2D;
  const all = tf.matMul(stacked, dz, true, false);
  const sizes = [...parts.map((p) => p.shape[1]), 1];
  const split = tf.split(all, sizes, 0) as Tensor2D[];
  return { products: split.slice(0, parts.length), columnSums: split[parts.length]! };
}

/**
 * Left padding: the new state part where the step is real, the old one at padded steps, with
 * the generic loop's formula `old + v ⊙ (new - old)` (v is [B, 1], 0 or 1).
 */
export function carry(old: Tensor2D, next: Tensor2D, v: Tensor2D | undefined): Tensor2D {
  return v ? (tf.add(old, tf.mul(v, tf.sub(next, old))) as Tensor2D) : next;
}

/**
 * The gradient through `carry`: the part reaching the new value (v ⊙ d) and the part that
 * passes to the old value unchanged (d - v ⊙ d); without padding all of d reaches the new value.
 */
export function splitCarryGradient(
  d: Tensor2D,
  v: Tensor2D | undefined,
): { toNew: Tensor2D; toOld: Tensor2D | undefined } {
  if (!v) return { toNew: d, toOld: undefined };
  const toNew = tf.mul(v, d) as Tensor2D;
  return { toNew, toOld: tf.sub(d, toNew) as Tensor2D };
}

/** a + b where b may be absent. */
export function addMaybe(a: Tensor2D, b: Tensor2D | undefined): Tensor2D {
  return b ? (tf.add(a, b) as Tensor2D) : a;
}

/** σ'(z) from σ(z) = s: s ⊙ (1 - s). */
export function sigmoidSlope(s: Tensor2D): Tensor2D {
  return tf.mul(s, tf.sub(1, s)) as Tensor2D;
}

/** tanh'(z) from tanh(z) = y: 1 - y². */
export function tanhSlope(y: Tensor2D): Tensor2D {
  return tf.sub(1, tf.square(y)) as Tensor2D;
}
