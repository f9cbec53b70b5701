import {
  bidirectionalLayerOptions,
  bidirectionalLayerParams,
} from './bidirectional/bidirectional-params.js';
import type { CellDefinition } from './cells/cell.js';
import { createElmanParams } from './cells/elman-params.js';
import { createGruParams } from './cells/gru-params.js';
import { createLstmParams } from './cells/lstm-params.js';
import { convParameters } from './conv/conv-parameters.js';
import { recurrentInputSize } from './conv/conv-spec.js';
import { glorotUniform } from './initializers.js';
import type { CellType, ModelSpec } from './model-spec.js';
import { createRng } from './random.js';

// The cells' initialisers without their step functions: this module loads no tensor backend
// (the paramserver starts from it and never needs one).
const CELL_PARAMS: Readonly<Record<CellType, CellDefinition['createParams']>> = {
  rnn: createElmanParams,
  lstm: createLstmParams,
  gru: createGruParams,
};

/** Seeded initial values of every parameter, in a fixed order (docs/model-math.md). */
export function initialParameters(
  spec: ModelSpec,
  seed: number,
): Array<{ name: string; shape: number[]; values: Float32Array }> {
  const rng = createRng(seed);
  const out: Array<{ name: string; shape: number[]; values: Float32Array }> = [];
  if (spec.inputKind === 'tokens') {
    const rows = spec.vocabSize + 1; // + BOS
    const values = new Float32Array(rows * spec.embedding);
    // Small uniform embeddings, as in word2vec / Bengio et al.: ±0.05 keeps early gates unsaturated.
    for (let i = 0; i < values.length; i++) values[i] = (rng.uniform() * 2 - 1) * 0.05;
    out.push({ name: 'embedding', shape: [rows, spec.embedding], values });
  } else {
    out.push({
      name: 'input/kernel',
      shape: [spec.featureSize, spec.embedding],
      values: glorotUniform({ rows: spec.featureSize, cols: spec.embedding, rng }),
    });
    out.push({
      name: 'input/bias',
      shape: [spec.embedding],
      values: new Float32Array(spec.embedding),
    });
  }
  if (spec.conv) out.push(...convParameters(spec.conv, spec.embedding, rng));
  const createParams = CELL_PARAMS[spec.cell];
  // A bidirectional model's layers have a forward and a backward direction each, named apart.
  if (spec.bidirectional)
    out.push(...bidirectionalLayerParams(bidirectionalLayerOptions(spec), createParams, rng));
  for (let layer = 0; layer < spec.layers && !spec.bidirectional; layer++) {
    const options = {
      inputSize: layer === 0 ? recurrentInputSize(spec) : spec.hidden,
      hidden: spec.hidden,
      peepholes: spec.peepholes,
      coupledGates: spec.coupledGates,
    };
    for (const p of createParams(options, rng))
      out.push({ name: `layer${layer}/${p.name}`, shape: [...p.shape], values: p.values });
  }
  // A bidirectional head reads [h→, h←]: 2H values.
  const headInputs = spec.bidirectional ? 2 * spec.hidden : spec.hidden;
  out.push({
    name: 'head/W',
    shape: [headInputs, spec.outputSize],
    // A forecast head predicts the change from the last observed value: starting at zero, the
    // untrained model forecasts exactly "the last value" (docs/model-math.md, "Forecast head").
    values:
      spec.task === 'forecast'
        ? new Float32Array(headInputs * spec.outputSize)
        : glorotUniform({ rows: headInputs, cols: spec.outputSize, rng }),
  });
  out.push({ name: 'head/b', shape: [spec.outputSize], values: new Float32Array(spec.outputSize) });
  return out;
}
