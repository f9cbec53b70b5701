import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { GENERIC_KERNELS } from '../../../shared/model/layer-kernels.js';
import { tf } from '../../../shared/engine/tf.js';
import { referenceParameterShapes } from '../../support/reference-model.js';
import {
  finiteDifferenceGradients,
  selectEntries,
  toFloat64Params,
} from '../../support/finite-differences.js';
import {
  backendsUnderTest,
  makeBatch,
  makeSpec,
  specLabel,
  useBackend,
  type SpecOptions,
} from './model-test-helpers.js';

/**
 * Chunked back-propagation (RecurrentModel.lossAndGradientTensors with chunkSteps) must give the
 * gradient of the whole window: checked against the same model without chunks, and against
 * float64 central finite differences of the independent reference model.
 */
const cases: Array<{ spec: SpecOptions; padding: number[]; chunkSteps: number[] }> = [
  // classify: one loss step per row at its end, so every earlier chunk only passes a gradient on.
  {
    spec: { task: 'classify', cell: 'lstm', layers: 2, dropout: 0.2, recurrentDropout: 0.2 },
    padding: [0, 6, 13],
    chunkSteps: [4, 7],
  },
  { spec: { task: 'lm', cell: 'gru' }, padding: [0, 9], chunkSteps: [5] },
  { spec: { task: 'forecast', cell: 'rnn' }, padding: [3, 0], chunkSteps: [8] },
];
const STEPS = 23;

const backends = (await backendsUnderTest()).filter((b) => b.available);

for (const [index, c] of cases.entries()) {
  const spec = makeSpec(c.spec);
  for (const backend of backends) {
    for (const kernels of ['default', 'generic'] as const) {
      test(`${specLabel(spec)}: chunked back-propagation gives the whole window's loss and gradient on ${backend.name} (${kernels} kernels)`, async () => {
        await useBackend(backend.name);
        const created = RecurrentModel.create({ spec, seed: 11 + index });
        const model = kernels === 'generic' ? created.withKernels(GENERIC_KERNELS) : created;
        try {
          const batch = makeBatch(spec, {
            batchSize: c.padding.length,
            steps: STEPS,
            padding: c.padding,
            dropoutMasks: spec.dropout > 0,
            seed: 500 + index,
          });
          const before = tf.memory().numTensors;
          const whole = model.lossAndGradients(batch);
          for (const chunkSteps of c.chunkSteps) {
            const { lossSum, count, gradients } = model.lossAndGradientTensors(batch, {
              chunkSteps,
            });
            assert.equal(count, whole.count);
            assert.ok(
              Math.abs(lossSum - whole.lossSum) <= 1e-4 * Math.abs(whole.lossSum),
              `chunks of ${chunkSteps}: loss sum ${lossSum} vs ${whole.lossSum}`,
            );
            for (const [name, tensor] of gradients) {
              const got = tensor.dataSync();
              tensor.dispose();
              const want = whole.gradients.get(name)!;
              let scale = 0;
              for (const v of want) scale = Math.max(scale, Math.abs(v));
              for (let i = 0; i < want.length; i++)
                assert.ok(
                  Math.abs(got[i]! - want[i]!) <= 1e-5 + 1e-4 * scale,
                  `chunks of ${chunkSteps}: d loss / d ${name}[${i}] = ${got[i]} vs ${want[i]} without chunks`,
                );
            }
          }
          assert.equal(tf.memory().numTensors, before, 'no tensor outlives the step');

          // And against the float64 reference, at a few entries of every parameter.
          const arrays = new Map(
            model.params.names().map((n) => [n, model.params.get(n).dataSync() as Float32Array]),
          );
          const selection = selectEntries(spec, referenceParameterShapes(spec), {
            perTensor: 4,
            fullBelow: 4,
            seed: 900 + index,
          });
          const fd = finiteDifferenceGradients(spec, toFloat64Params(arrays), batch, selection, {
            eps: 1e-6,
          });
          const chunked = model.lossAndGradientTensors(batch, { chunkSteps: c.chunkSteps[0]! });
          for (const [name, { indices, values }] of fd) {
            const got = chunked.gradients.get(name)!.dataSync();
            indices.forEach((i, k) =>
              assert.ok(
                Math.abs(got[i]! - values[k]!) <= 1e-5 + 1e-3 * Math.abs(values[k]!),
                `d loss / d ${name}[${i}]: chunked ${got[i]} vs finite differences ${values[k]}`,
              ),
            );
          }
          for (const g of chunked.gradients.values()) g.dispose();
        } finally {
          created.dispose();
        }
      });
    }
  }
}
