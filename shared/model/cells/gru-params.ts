import { blockOrthogonal, glorotUniform, orthogonal } from '../initializers.js';
import type { Rng } from '../random.js';
import type { CellOptions, ParamInit } from './cell.js';

/** Initial parameters of one GRU layer (no tensors: also used where no backend is loaded). */
export function createGruParams({ inputSize, hidden }: CellOptions, rng: Rng): ParamInit[] {
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
    {
      name: 'Wc',
      shape: [inputSize, hidden],
      values: glorotUniform({ rows: inputSize, cols: hidden, rng }),
    },
    {
      name: 'Uc',
      shape: [hidden, hidden],
      values: orthogonal({ rows: hidden, cols: hidden, rng }),
    },
    { name: 'bc', shape: [hidden], values: new Float32Array(hidden) },
  ];
}
