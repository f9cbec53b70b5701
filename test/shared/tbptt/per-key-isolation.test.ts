import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { tinyLearner, tinyLmSpec } from '../../support/tiny-learner.js';
import { availableBackends } from '../../support/backends.js';

for (const backend of await availableBackends(['cpu', 'tensorflow', 'wasm'])) {
  test(`[${backend}] interleaving two keys gives the same states and predictions as running them separately (training off)`, async () => {
    await tf.setBackend(backend);
    const spec = tinyLmSpec({ cell: 'gru', layers: 2 });
    const a = [1, 2, 3, 4, 5, 6, 7, 1, 2];
    const b = [7, 7, 3, 0, 2];
    const separate = tinyLearner({ spec, k1: 2, k2: 4 });
    const alone = [
      ...(await separate.learner.process(separate.encode(a.map((token) => ({ key: 'a', token }))))),
      ...(await separate.learner.process(separate.encode(b.map((token) => ({ key: 'b', token }))))),
    ];
    const mixed = tinyLearner({ spec, k1: 2, k2: 4 });
    const interleaved: Array<{ key: string; token: number }> = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i < a.length) interleaved.push({ key: 'a', token: a[i]! });
      if (i < b.length) interleaved.push({ key: 'b', token: b[i]! });
    }
    const together = await mixed.learner.process(mixed.encode(interleaved));
    for (const key of ['a', 'b']) {
      const x = alone.filter((p) => p.key === key);
      const y = together.filter((p) => p.key === key);
      assert.equal(x.length, y.length);
      x.forEach((p, i) => {
        assert.equal(y[i]!.predictedToken, p.predictedToken, `${key} step ${i} predicted token`);
        assert.ok(
          Math.abs(y[i]!.probability! - p.probability!) < 1e-6,
          `${key} step ${i}: ${y[i]!.probability} vs ${p.probability}`,
        );
      });
      const s1 = separate.learner.store.get(key)!.state;
      const s2 = mixed.learner.store.get(key)!.state;
      s1.forEach((v, i) => assert.ok(Math.abs(v - s2[i]!) < 1e-6, `${key} state[${i}]`));
    }
    separate.model.dispose();
    mixed.model.dispose();
  });
}
