import { blockOrthogonal, glorotUniform } from '../initializers.js';
import type { Rng } from '../random.js';
import type { CellOptions, ParamInit } from './cell.js';

/** Initial parameters of one LSTM layer (no tensors: also used where no backend is loaded). */
export function createLstmParams(
  { inputSize, hidden, peepholes, coupledGates }: CellOptions,
  rng: Rng,
): ParamInit[] {
  const gates = coupledGates ? 3 : 4;
  const bias = new Float32Array(gates * hidden);
  // Forget-gate bias 1: remember by default at the start of training (Gers et al., Jozefowicz et al.).
  if (!coupledGates) bias.fill(1, 2 * hidden, 3 * hidden);
  const params = [
    {
      name: 'W',
      shape: [inputSize, gates * hidden],
      values: glorotUniform({ rows: inputSize, cols: gates * hidden, rng }),
    },
    {
      name: 'U',
      shape: [hidden, gates * hidden],
      values: blockOrthogonal({ size: hidden, blocks: gates, rng }),
    },
    { name: 'b', shape: [gates * hidden], values: bias },
  ];
  if (peepholes) {
    params.push({ name: 'wci', shape: [hidden], values: new Float32Array(hidden) });
    if (!coupledGates)
      params.push({ name: 'wcf', shape: [hidden], values: new Float32Array(hidden) });
    params.push({ name: 'wco', shape: [hidden], values: new Float32Array(hidden) });
  }
  return params;
}
