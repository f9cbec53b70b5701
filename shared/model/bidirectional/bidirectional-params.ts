import type { CellDefinition, CellOptions } from '../cells/cell.js';
import type { Rng } from '../random.js';

/** The two directions of a bidirectional layer, as parameter name segments. */
export const DIRECTIONS = ['forward', 'backward'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Name of a parameter of one direction of a bidirectional layer: `layer0/backward/W`. */
export function bidirectionalParamName(layer: number, direction: Direction, name: string): string {
  return `layer${layer}/${direction}/${name}`;
}

/**
 * The options of every bidirectional layer: layer 0 reads the E-wide inputs, each layer above
 * reads the 2H-wide [h→, h←] of the layer below.
 */
export function bidirectionalLayerOptions(spec: {
  layers: number;
  embedding: number;
  hidden: number;
  peepholes: boolean;
  coupledGates: boolean;
}): CellOptions[] {
  return Array.from({ length: spec.layers }, (_, layer) => ({
    inputSize: layer === 0 ? spec.embedding : 2 * spec.hidden,
    hidden: spec.hidden,
    peepholes: spec.peepholes,
    coupledGates: spec.coupledGates,
  }));
}

/**
 * Seeded initial values of every bidirectional layer, layer by layer, forward direction first:
 * each direction is initialised as a layer of its own (no tensors: the paramserver uses it).
 */
export function bidirectionalLayerParams(
  options: readonly CellOptions[],
  createParams: CellDefinition['createParams'],
  rng: Rng,
): Array<{ name: string; shape: number[]; values: Float32Array }> {
  const out: Array<{ name: string; shape: number[]; values: Float32Array }> = [];
  options.forEach((layerOptions, layer) => {
    for (const direction of DIRECTIONS)
      for (const p of createParams(layerOptions, rng))
        out.push({
          name: bidirectionalParamName(layer, direction, p.name),
          shape: [...p.shape],
          values: p.values,
        });
  });
  return out;
}
