import { blockOrthogonal, glorotUniform } from '../initializers.js';
import type { Rng } from '../random.js';
import type { CellOptions, ParamInit } from './cell.js';
import { createElmanParams } from './elman-params.js';

/** Initial parameters of one GRU layer (no tensors: also used where no backend is loaded). */
export function createGruParams(options: CellOptions, rng: Rng): ParamInit[] {
  const { inputSize, hidden } = options;
  return [
    {
      name: 'Wru',
      shape: [inputSize, 2 * hidden],
      values: glorotUniform({ rows: inputSize, cols: 2 * hidden, rng }),
    },
    {
      name: 'Uru',
      shape: [hidden, 2 * hidden],
      values: blockOrthogonal({ size: hidden, blocks: 2, rng }),
    },
    { name: 'bru', shape: [2 * hidden], values: new Float32Array(2 * hidden) },
    // The candidate state c̃ = tanh(x Wc + (r ⊙ h) Uc + bc) is initialised as an Elman layer.
    ...createElmanParams(options, rng).map((p) => ({ ...p, name: `${p.name}c` })),
  ];
}
