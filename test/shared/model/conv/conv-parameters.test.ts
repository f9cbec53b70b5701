/**
 * The front end's parameters: named, shaped and initialised as docs/model-math.md says (seeded,
 * Glorot or He uniform, zero bias), ordered between the input layer and the cells, and carried by
 * parameter files with the spec that makes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf } from '../../../../shared/engine/tf.js';
import type { ConvSpec } from '../../../../shared/model/conv/conv-spec.js';
import { initialParameters } from '../../../../shared/model/initial-parameters.js';
import { loadParameterFile, saveParameterFile } from '../../../../shared/model/parameter-file.js';
import { RecurrentModel } from '../../../../shared/model/recurrent-model.js';
import { tempDir } from '../../../support/run-helpers.js';
import { tinyLmSpec } from '../../../support/tiny-learner.js';

const conv = (o: Partial<ConvSpec>): ConvSpec => ({
  kernelWidth: 3,
  channels: 10,
  dilation: 2,
  activation: 'tanh',
  layers: 2,
  ...o,
});

test('conv kernels and biases sit between the input layer and the cells, sized for the stack, and the first cell reads the channels', () => {
  const spec = tinyLmSpec({ embedding: 4, conv: conv({}) });
  const params = initialParameters(spec, 3);
  assert.deepEqual(
    params.slice(0, 5).map((p) => [p.name, p.shape]),
    [
      ['embedding', [9, 4]],
      ['conv0/kernel', [3, 4, 10]],
      ['conv0/bias', [10]],
      ['conv1/kernel', [3, 10, 10]],
      ['conv1/bias', [10]],
    ],
  );
  assert.deepEqual(params.find((p) => p.name === 'layer0/W')!.shape, [10, 4 * 6]);
});

for (const activation of ['tanh', 'linear', 'relu'] as const) {
  test(`${activation} conv kernels are uniform within the ${activation === 'relu' ? 'He' : 'Glorot'} limit, seeded, with zero biases`, () => {
    const spec = tinyLmSpec({
      embedding: 8,
      conv: conv({ activation, kernelWidth: 4, layers: 1, channels: 12 }),
    });
    const kernel = (seed: number) =>
      initialParameters(spec, seed).find((p) => p.name === 'conv0/kernel')!.values;
    const values = kernel(5);
    const fanIn = 4 * 8;
    const fanOut = 4 * 12;
    const limit = activation === 'relu' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
    const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(max <= limit, `largest |w| ${max} within ${limit}`);
    assert.ok(
      max > 0.9 * limit,
      `largest |w| ${max} reaches near ${limit}: uniform over the range`,
    );
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    assert.ok(Math.abs(mean) < 0.1 * limit, `mean ${mean}`);
    assert.deepEqual(kernel(5), values, 'same seed, same values');
    assert.notDeepEqual(kernel(6), values, 'another seed, other values');
    const bias = initialParameters(spec, 5).find((p) => p.name === 'conv0/bias')!.values;
    assert.ok(bias.every((v) => v === 0));
  });
}

test('a parameter file keeps the conv spec and the conv tensors: a model made from the loaded spec takes them bit-exactly', async () => {
  await tf.setBackend('cpu');
  const spec = tinyLmSpec({ cell: 'gru', conv: conv({ layers: 1 }) });
  const a = RecurrentModel.create({ spec, seed: 1 });
  const path = join(await tempDir('conv-params'), 'model.params');
  await saveParameterFile(path, { spec, params: a.params });
  const loaded = await loadParameterFile(path);
  assert.deepEqual(loaded.spec, spec);
  const b = RecurrentModel.create({ spec: loaded.spec, seed: 2 });
  b.params.assignArrays(loaded.arrays);
  for (const [name, values] of a.params.toArrays())
    assert.deepEqual(b.params.toArrays().get(name), values, name);
  assert.ok(b.params.has('conv0/kernel'));
  a.dispose();
  b.dispose();
});
