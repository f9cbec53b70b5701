import { recurrentInputSize } from './conv/conv-spec.js';
import type { ModelSpec } from './model-spec.js';
import type { DropoutMasks } from './training-batch.js';
import type { Rng } from './random.js';

/**
 * Variational (Gal & Ghahramani) dropout masks for one training window: one mask per key and
 * layer, drawn once and reused at every step of the window. Values are 0 or 1/(1-rate) so the
 * expected activation is unchanged; inference uses no mask.
 */
export function sampleDropoutMasks({
  spec,
  batchSize,
  rng,
}: {
  spec: ModelSpec;
  batchSize: number;
  rng: Rng;
}): DropoutMasks | undefined {
  if (spec.dropout === 0 && spec.recurrentDropout === 0) return undefined;
  const input: Array<Float32Array | undefined> = [];
  const recurrent: Array<Float32Array | undefined> = [];
  for (let layer = 0; layer < spec.layers; layer++) {
    // A bidirectional layer above the first reads [h→, h←] of the layer below.
    const inputSize =
      layer === 0 ? recurrentInputSize(spec) : (spec.bidirectional ? 2 : 1) * spec.hidden;
    input.push(
      spec.dropout > 0 ? bernoulliMask(batchSize * inputSize, spec.dropout, rng) : undefined,
    );
    recurrent.push(
      spec.recurrentDropout > 0
        ? bernoulliMask(batchSize * spec.hidden, spec.recurrentDropout, rng)
        : undefined,
    );
  }
  return { input, recurrent };
}

function bernoulliMask(length: number, rate: number, rng: Rng): Float32Array {
  const keep = 1 / (1 - rate);
  const mask = new Float32Array(length);
  for (let i = 0; i < length; i++) mask[i] = rng.uniform() < rate ? 0 : keep;
  return mask;
}
