import { glorotLimit } from '../initializers.js';
import type { Rng } from '../random.js';
import type { ConvSpec } from './conv-spec.js';

/**
 * Seeded initial values of the front end's parameters, layer by layer: `conv{l}/kernel`
 * [k, C_in, C_out] uniform in ±limit and `conv{l}/bias` [C_out] zero. The limit is Glorot's
 * sqrt(6 / (fan_in + fan_out)) with fans k·C_in and k·C_out (as Keras counts them for a conv),
 * or He's sqrt(6 / fan_in) for relu, which halves the variance it passes on.
 */
export function convParameters(
  conv: ConvSpec,
  inputSize: number,
  rng: Rng,
): Array<{ name: string; shape: number[]; values: Float32Array }> {
  const out: Array<{ name: string; shape: number[]; values: Float32Array }> = [];
  const k = conv.kernelWidth;
  for (let l = 0; l < conv.layers; l++) {
    const inChannels = l === 0 ? inputSize : conv.channels;
    const fanIn = k * inChannels;
    const fanOut = k * conv.channels;
    const limit = conv.activation === 'relu' ? Math.sqrt(6 / fanIn) : glorotLimit(fanIn, fanOut);
    const kernel = new Float32Array(k * inChannels * conv.channels);
    for (let i = 0; i < kernel.length; i++) kernel[i] = (rng.uniform() * 2 - 1) * limit;
    out.push({ name: `conv${l}/kernel`, shape: [k, inChannels, conv.channels], values: kernel });
    out.push({
      name: `conv${l}/bias`,
      shape: [conv.channels],
      values: new Float32Array(conv.channels),
    });
  }
  return out;
}
