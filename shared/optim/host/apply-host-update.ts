import { ShapeError } from '../../errors/index.js';
import type { HostOptimizer } from './host-optimizer.js';

export interface AppliedUpdate {
  /** Tokens of all contributions (the average's total weight). */
  readonly tokens: number;
  /** Global norm of the averaged gradient before clipping. */
  readonly preClipNorm: number;
  /** Factor the average was scaled by (1 = not clipped). */
  readonly clipScale: number;
}

export interface HostGradientContribution {
  /** Gradient of the contributor's mean loss, by parameter name. */
  readonly tensors: ReadonlyMap<string, { readonly data: Float32Array }>;
  /** Steps whose loss the gradient averages; the weight of this contribution. */
  readonly tokens: number;
}

// Elements averaged per block: the float64 accumulator stays in L1 and is reused.
const BLOCK = 4096;

/**
 * The update rule of every parameter service — the paramserver's and an embedded run's in-process
 * one (both through ParameterServer) — on host arrays: token-weighted average of the
 * contributions (into `average`, the caller's scratch arrays of the parameters' lengths) → its
 * global norm → clip factor for `clipGlobalNorm` (0 disables) → one optimizer step in place.
 * Sums run in float64 in the order given, each average element rounded to float32 once: callers
 * that need bit-exact replays pass the contributions in a fixed order.
 */
export function applyHostUpdate({
  params,
  optimizer,
  contributions,
  clipGlobalNorm,
  learningRate,
  average,
}: {
  params: ReadonlyMap<string, Float32Array>;
  optimizer: HostOptimizer;
  contributions: readonly HostGradientContribution[];
  clipGlobalNorm: number;
  learningRate: number;
  average: ReadonlyMap<string, Float32Array>;
}): AppliedUpdate {
  const weighted = contributions.filter((c) => c.tokens > 0);
  const tokens = weighted.reduce((s, c) => s + c.tokens, 0);
  if (tokens <= 0) return { tokens: 0, preClipNorm: 0, clipScale: 1 };
  const weights = weighted.map((c) => c.tokens / tokens);
  const accumulator = new Float64Array(BLOCK);
  let squares = 0;
  for (const [name, param] of params) {
    const out = average.get(name);
    const inputs = weighted.map((c) => c.tensors.get(name)?.data);
    if (out?.length !== param.length || inputs.some((g) => g?.length !== param.length)) {
      throw new ShapeError(
        `gradient contributions do not match parameter '${name}' (${param.length} values); all workers must run the same model configuration`,
      );
    }
    squares += averageInto(out, inputs as Float32Array[], weights, accumulator);
  }
  const preClipNorm = Math.sqrt(squares);
  const clipScale =
    clipGlobalNorm > 0 && preClipNorm > clipGlobalNorm ? clipGlobalNorm / preClipNorm : 1;
  optimizer.apply(params, average, { learningRate, gradientScale: clipScale });
  return { tokens, preClipNorm, clipScale };
}

/**
 * out = Σ weights[k] · inputs[k], summed left to right in float64 and rounded once; returns the
 * sum of squares of the rounded values. Three inputs per pass over an L1-sized block.
 */
function averageInto(
  out: Float32Array,
  inputs: readonly Float32Array[],
  weights: readonly number[],
  accumulator: Float64Array,
): number {
  let squares = 0;
  for (let start = 0; start < out.length; start += BLOCK) {
    const length = Math.min(BLOCK, out.length - start);
    const first = inputs[0]!;
    const w0 = weights[0]!;
    for (let j = 0; j < length; j++) accumulator[j] = w0 * first[start + j]!;
    let k = 1;
    for (; k + 3 <= inputs.length; k += 3) {
      const [a, b, c] = [inputs[k]!, inputs[k + 1]!, inputs[k + 2]!];
      const [wa, wb, wc] = [weights[k]!, weights[k + 1]!, weights[k + 2]!];
      for (let j = 0; j < length; j++) {
        const i = start + j;
        accumulator[j] = accumulator[j]! + wa * a[i]! + wb * b[i]! + wc * c[i]!;
      }
    }
    for (; k < inputs.length; k++) {
      const g = inputs[k]!;
      const w = weights[k]!;
      for (let j = 0; j < length; j++) accumulator[j] = accumulator[j]! + w * g[start + j]!;
    }
    for (let j = 0; j < length; j++) {
      const rounded = Math.fround(accumulator[j]!); // the value the optimizer will see
      out[start + j] = rounded;
      squares += rounded * rounded;
    }
  }
  return squares;
}
