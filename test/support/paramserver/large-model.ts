import { join } from 'node:path';

import type { ModelSpec } from '../../../shared/model/model-spec.js';
import { saveParameterFile } from '../../../shared/model/parameter-file.js';
import { ParameterSet } from '../../../shared/model/parameter-set.js';
import { randomArray } from './gradients.js';

/**
 * A byte-level one-layer LSTM LM with hidden 1024 and embedding 256: 5,575,168 parameters
 * (22.3 MB of float32), the scale of the "≥ 5 M parameters" requirement.
 */
export const LARGE_MODEL = { model: { cell: 'lstm', hidden: 1024, embedding: 256 } } as const;

/**
 * Parameter names and shapes of a one-layer token LSTM (docs/model-math.md), without computing
 * the seeded initial values: the orthogonal initialiser takes ~12 s at hidden 1024.
 * test/services/paramserver/large-model.test.ts checks these against initialParameters.
 */
export function lstmParameterShapes(spec: ModelSpec): Map<string, number[]> {
  const gates = 4 * spec.hidden;
  return new Map([
    ['embedding', [spec.vocabSize + 1, spec.embedding]],
    ['layer0/W', [spec.embedding, gates]],
    ['layer0/U', [spec.hidden, gates]],
    ['layer0/b', [gates]],
    ['head/W', [spec.hidden, spec.outputSize]],
    ['head/b', [spec.outputSize]],
  ]);
}

/** Writes a parameter file with random values of those shapes (for `--init`); returns its path. */
export async function writeRandomInitFile(dir: string, spec: ModelSpec, seed = 5): Promise<string> {
  const params = new ParameterSet(
    [...lstmParameterShapes(spec)].map(([name, shape], i) => ({
      name,
      shape,
      values: randomArray(
        shape.reduce((a, b) => a * b, 1),
        seed + i,
        0.05,
      ),
    })),
  );
  const path = join(dir, 'init.params');
  try {
    await saveParameterFile(path, { spec, params });
  } finally {
    params.dispose();
  }
  return path;
}
