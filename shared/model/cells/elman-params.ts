import { glorotUniform, orthogonal } from '../initializers.js';
import type { Rng } from '../random.js';
import type { CellOptions, ParamInit } from './cell.js';

/** Initial parameters of one Elman layer (no tensors: also used where no backend is loaded). */
export function createElmanParams({ inputSize, hidden }: CellOptions, rng: Rng): ParamInit[] {
  return [
    {
      name: 'W',
      shape: [inputSize, hidden],
      values: glorotUniform({ rows: inputSize, cols: hidden, rng }),
    },
    {
      name: 'U',
      shape: [hidden, hidden],
      values: orthogonal({ rows: hidden, cols: hidden, rng }),
    },
    { name: 'b', shape: [hidden], values: new Float32Array(hidden) },
  ];
}
