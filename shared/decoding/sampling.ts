/**
 * Choosing the next token from a next-token distribution (the `generate` command, README):
 * greedy, and sampling with temperature, top-k and top-p (nucleus) filtering. Pure functions on a
 * probability vector; the only source of randomness is the `rng` passed in, so the same seed gives
 * the same choices on every machine.
 */
import type { Rng } from '../model/random.js';

/** Options of `sampleWithTemperature` / `filteredDistribution`. */
export interface SamplingOptions {
  /**
   * Rescales log-probabilities: p_i ∝ exp(log p_i / temperature). 1 keeps the model's distribution,
   * below 1 sharpens it, above 1 flattens it, 0 means greedy.
   */
  readonly temperature: number;
  /** Keep only the k most likely tokens (after temperature). Absent: no top-k filter. */
  readonly topK?: number | undefined;
  /** Keep the smallest set of most likely tokens whose mass is ≥ topP (after temperature and top-k). Absent or 1: no filter. */
  readonly topP?: number | undefined;
}

/**
 * The id of the most likely token; ties go to the lowest id, so the choice is deterministic.
 * Throws a RangeError on an empty vector or on entries that are not finite and ≥ 0.
 */
export function greedy(probs: ArrayLike<number>): number {
  checkProbabilities(probs);
  return argmax(probs);
}

/**
 * Checks temperature, topK and topP and throws a RangeError naming the value, the reason and the
 * fix. Call it once before a generation loop so that a bad request fails before any model work.
 */
export function validateSamplingOptions({ temperature, topK, topP }: SamplingOptions): void {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw invalid(
      'temperature',
      temperature,
      'must be a finite number ≥ 0',
      "use 1 for the model's own distribution, a value in (0, 1) to sharpen it, or 0 for greedy decoding",
    );
  }
  if (topK !== undefined && (typeof topK !== 'number' || !Number.isSafeInteger(topK) || topK < 1)) {
    throw invalid(
      'topK',
      topK,
      'must be an integer ≥ 1',
      'use e.g. 40 to keep the 40 most likely tokens, or leave top-k unset to keep all of them',
    );
  }
  if (
    topP !== undefined &&
    (typeof topP !== 'number' || !Number.isFinite(topP) || topP <= 0 || topP > 1)
  ) {
    throw invalid(
      'topP',
      topP,
      'must be in (0, 1]',
      'use e.g. 0.9 to keep the most likely tokens that make up 90% of the mass, or 1 (or unset) to keep all of them',
    );
  }
}

/**
 * The distribution `sampleWithTemperature` draws from: temperature applied to the log-probabilities,
 * then the top-k filter, then the top-p filter, renormalised to sum to 1 (float64). Temperature 0
 * puts all the mass on the greedy token. Tokens of probability 0 stay at 0.
 */
export function filteredDistribution(
  probs: ArrayLike<number>,
  options: SamplingOptions,
): Float64Array {
  validateSamplingOptions(options);
  checkProbabilities(probs);
  const n = probs.length;
  const out = new Float64Array(n);
  const { temperature, topK, topP } = options;
  if (temperature === 0) {
    out[argmax(probs)] = 1;
    return out;
  }

  // Temperature in log space: exp((log p_i - log p_max) / T) avoids under/overflow for small T.
  const logMax = Math.log(probs[argmax(probs)]!);
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    out[i] = p === 0 ? 0 : temperature === 1 ? p : Math.exp((Math.log(p) - logMax) / temperature);
  }

  const keepK = topK !== undefined && topK < n;
  const keepP = topP !== undefined && topP < 1;
  if (keepK || keepP) {
    // Most likely first; ties broken by lower id so the kept set does not depend on sort stability.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => out[b]! - out[a]! || a - b);
    let kept = keepK ? topK : n;
    if (keepP) {
      let total = 0;
      for (let r = 0; r < kept; r++) total += out[order[r]!]!;
      let mass = 0;
      let r = 0;
      // Smallest prefix whose share of the (top-k) mass reaches topP; at least one token.
      while (r < kept) {
        mass += out[order[r]!]!;
        r++;
        if (mass >= topP * total) break;
      }
      kept = r;
    }
    for (let r = kept; r < n; r++) out[order[r]!] = 0;
  }

  normalize(out);
  return out;
}

/**
 * Draws one token id from `probs` after temperature, top-k and top-p (see `filteredDistribution`).
 * Temperature 0 is greedy and does not consume a random number.
 */
export function sampleWithTemperature(
  probs: ArrayLike<number>,
  options: SamplingOptions & { readonly rng: Pick<Rng, 'uniform'> },
): number {
  validateSamplingOptions(options);
  if (options.temperature === 0) return greedy(probs);
  return sampleFrom(filteredDistribution(probs, options), options.rng);
}

/** Draws an index of a normalised distribution by inverting its cumulative sum with one uniform draw. */
export function sampleFrom(distribution: ArrayLike<number>, rng: Pick<Rng, 'uniform'>): number {
  const u = rng.uniform();
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < distribution.length; i++) {
    const p = distribution[i]!;
    if (p <= 0) continue;
    cumulative += p;
    last = i;
    if (u < cumulative) return i;
  }
  // Rounding left the cumulative sum a hair below 1 and u landed in the gap: the last token with mass.
  if (last < 0) throw new RangeError('cannot sample from a distribution with no positive entry');
  return last;
}

function argmax(probs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
  return best;
}

function normalize(values: Float64Array): void {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  for (let i = 0; i < values.length; i++) values[i]! /= sum;
}

/** A next-token distribution must be non-empty, finite, non-negative and have some mass. */
function checkProbabilities(probs: ArrayLike<number>): void {
  if (probs.length === 0)
    throw new RangeError(
      'the probability vector is empty: a next-token distribution needs at least one entry',
    );
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (!Number.isFinite(p) || p < 0) {
      throw new RangeError(
        `probability ${p} at index ${i} is not a finite number ≥ 0 (fix: pass softmax probabilities, not logits; a NaN usually means the model's parameters diverged)`,
      );
    }
    sum += p;
  }
  if (sum <= 0)
    throw new RangeError(
      'the probability vector sums to 0: there is no token to choose (fix: pass softmax probabilities, not a zeroed vector)',
    );
}

function invalid(name: string, value: unknown, reason: string, fix: string): RangeError {
  return new RangeError(`${name} = ${render(value)}: ${reason} (fix: ${fix})`);
}

function render(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
