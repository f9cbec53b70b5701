/**
 * embeddingRows (shared/model/embedding.ts): the rows of the table, and as gradient the sum of
 * the incoming rows per id (repeated ids add up, unused ids get exactly zero) — the same as the
 * one-hot product it replaced — on cpu and wasm; an id outside the table is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { listAvailableBackends, withBackend } from '../../../shared/engine/select-backend.js';
import { embeddingRows } from '../../../shared/model/embedding.js';
import { ShapeError } from '../../../shared/errors/index.js';
import type { Tensor2D } from '@tensorflow/tfjs';

const available = await listAvailableBackends();

for (const backend of ['cpu', 'wasm'] as const) {
  test(
    `[${backend}] embeddingRows gives the table rows and the one-hot product's gradient`,
    { skip: !available.includes(backend) && `${backend} backend not available` },
    async () => {
      await withBackend(backend, () => {
        const rows = 6;
        const width = 3;
        const ids = Int32Array.from([4, 0, 4, 2, 4, 0, 1]);
        const table = tf.variable(
          tf.tensor2d(
            Array.from({ length: rows * width }, (_, i) => Math.sin(i + 1)),
            [rows, width],
          ),
        );
        const weights = tf.tensor2d(
          Array.from({ length: ids.length * width }, (_, i) => Math.cos(3 * i)),
          [ids.length, width],
        );
        const before = tf.memory().numTensors;
        const lookup = tf.variableGrads(
          () => tf.sum(tf.mul(embeddingRows(table, ids), weights)),
          [table],
        );
        const oneHot = tf.variableGrads(
          () =>
            tf.sum(
              tf.mul(
                tf.matMul(tf.oneHot(tf.tensor1d(ids, 'int32'), rows).toFloat(), table as Tensor2D),
                weights,
              ),
            ),
          [table],
        );
        assert.ok(Math.abs(lookup.value.dataSync()[0]! - oneHot.value.dataSync()[0]!) < 1e-6);
        const got = lookup.grads[table.name]!.dataSync();
        const want = oneHot.grads[table.name]!.dataSync();
        for (let i = 0; i < want.length; i++)
          assert.ok(
            Math.abs(got[i]! - want[i]!) < 1e-6,
            `gradient [${i}]: ${got[i]} vs ${want[i]}`,
          );
        // Rows 3 and 5 are never looked up: exactly zero.
        for (const r of [3, 5]) for (let j = 0; j < width; j++) assert.equal(got[r * width + j], 0);
        const forward = tf.tidy(() => embeddingRows(table, ids).dataSync());
        const values = table.dataSync();
        ids.forEach((id, i) => {
          for (let j = 0; j < width; j++)
            assert.equal(forward[i * width + j], values[id * width + j], `row ${i}`);
        });
        for (const t of [lookup.value, oneHot.value, ...Object.values(lookup.grads)]) t.dispose();
        for (const t of Object.values(oneHot.grads)) t.dispose();
        assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
        assert.throws(() => embeddingRows(table, Int32Array.from([0, rows])), ShapeError);
        table.dispose();
        weights.dispose();
      });
    },
  );
}
