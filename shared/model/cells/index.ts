export { cells } from './cell-registry.js';
export type { CellDefinition, CellOptions, CellParams, ParamInit } from './cell.js';
