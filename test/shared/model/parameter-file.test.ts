import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../../shared/engine/tf.js';
import { ShapeError } from '../../../shared/errors/index.js';
import { loadParameterFile, saveParameterFile } from '../../../shared/model/parameter-file.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { tinyLmSpec } from '../../support/tiny-learner.js';
import { tempDir } from '../../support/run-helpers.js';

test('parameters saved to a file load back bit-exactly into a fresh model, with spec and version', async () => {
  await tf.setBackend('cpu');
  const spec = tinyLmSpec({ cell: 'gru', layers: 2 });
  const a = RecurrentModel.create({ spec, seed: 1 });
  a.params.version = 17;
  const path = join(await tempDir('params'), 'model.params');
  await saveParameterFile(path, { spec, params: a.params, note: 'kept' });
  const loaded = await loadParameterFile(path);
  assert.deepEqual(loaded.spec, spec);
  assert.equal(loaded.version, 17);
  assert.equal(loaded.extra['note'], 'kept');
  const b = RecurrentModel.create({ spec, seed: 2 });
  b.params.assignArrays(loaded.arrays);
  for (const [name, values] of a.params.toArrays())
    assert.deepEqual(b.params.toArrays().get(name), values, name);
  a.dispose();
  b.dispose();
});

test('loading parameters of another model shape is an error naming the parameter, not a partial load', async () => {
  await tf.setBackend('cpu');
  const small = RecurrentModel.create({ spec: tinyLmSpec({ hidden: 4 }), seed: 1 });
  const big = RecurrentModel.create({ spec: tinyLmSpec({ hidden: 6 }), seed: 1 });
  assert.throws(
    () => big.params.assignArrays(small.params.toNamedArrays()),
    (err: unknown) =>
      err instanceof ShapeError &&
      /layer0\/W/.test(err.message) &&
      /another model configuration/.test(err.message),
  );
  small.dispose();
  big.dispose();
});

test('a file that is not a parameter file is rejected with the fix', async () => {
  const path = join(await tempDir('params'), 'not-params.json');
  await writeFile(path, '{"hello": 1}\n');
  await assert.rejects(loadParameterFile(path), /not an rnnstream parameter file.*--save-params/);
});

test('a parameter file with a damaged header or forged shapes is a ShapeError, never another error or a huge allocation', async () => {
  const dir = await tempDir('params-hostile');
  const path = join(dir, 'forged.params');
  const header = (fields: object) =>
    JSON.stringify({ magic: 'RNNSTREAM-PARAMS-1', spec: {}, version: 1, tensors: [], ...fields });
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.jsonValue().map((tensors) => header({ tensors })),
        fc.jsonValue().map((version) => header({ version })),
        fc.jsonValue().map((spec) => header({ spec })),
        fc
          .array(fc.integer({ min: -5, max: 2 ** 40 }), { maxLength: 4 })
          .map((shape) => header({ tensors: [{ name: 'w', shape }] })),
      ),
      fc.uint8Array({ maxLength: 64 }),
      async (line, body) => {
        await writeFile(path, Buffer.concat([Buffer.from(line + '\n'), body]));
        try {
          await loadParameterFile(path);
        } catch (error) {
          assert.ok(error instanceof ShapeError, String(error));
        }
      },
    ),
    { seed: 20261204, numRuns: 500 },
  );
});
