import type { CellType } from '../model-spec.js';
import type { CellDefinition } from './cell.js';
import { elmanCell } from './elman.js';
import { gruCell } from './gru.js';
import { lstmCell } from './lstm.js';

/** The cell of each `model.cell` value of the config. */
export const cells: Readonly<Record<CellType, CellDefinition>> = {
  rnn: elmanCell,
  lstm: lstmCell,
  gru: gruCell,
};
