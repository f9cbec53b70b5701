import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeGradientChunks } from '../../../shared/codec/gradient-codec.js';
import type { Tensor } from '@tensorflow/tfjs';

import { tf } from '../../../shared/engine/tf.js';
import { gradientRecords } from '../../../shared/paramserver-client/index.js';

await tf.setBackend('cpu');

test('a worker gradient becomes GradientChunk records keyed by worker id that reassemble to it; its tensors stay the caller’s', () => {
  const w = tf.tensor2d([
    [1.5, -2, 0.25],
    [3, 4, 5.125],
  ]);
  const b = tf.tensor1d(Array.from({ length: 600 }, (_, i) => i / 7));
  const gradient = {
    workerId: 'worker-3',
    step: 42,
    paramVersion: 7,
    tokens: 96,
    lossSum: 12.5,
    gradients: new Map<string, Tensor>([
      ['layer0/W', w],
      ['head/b', b],
    ]),
  };
  for (const encoding of ['float32', 'bfloat16', 'float16'] as const) {
    const records = gradientRecords({ gradient, encoding, maxChunkBytes: 500 });
    assert.ok(records.length > 1, 'chunked');
    assert.ok(records.every((r) => r.key === 'worker-3' && r.value!.length < 700));
    const decoded = decodeGradientChunks(records.map((r) => r.value!));
    assert.deepEqual(
      { ...decoded, tensors: undefined },
      {
        workerId: 'worker-3',
        step: 42,
        paramVersion: 7,
        tokens: 96,
        lossSum: 12.5,
        tensors: undefined,
      },
    );
    assert.deepEqual(decoded.tensors.get('layer0/W')!.shape, [2, 3]);
    const tolerance = encoding === 'float32' ? 0 : encoding === 'bfloat16' ? 2 ** -8 : 2 ** -11;
    const original = b.dataSync();
    decoded.tensors
      .get('head/b')!
      .data.forEach((x, i) =>
        assert.ok(
          Math.abs(x - original[i]!) <= tolerance * Math.abs(original[i]!),
          `${encoding}[${i}]`,
        ),
      );
  }
  assert.equal(w.isDisposed, false);
  w.dispose();
  b.dispose();
});
