/**
 * The wasm kernel replacements (shared/engine/wasm-kernels.ts) compute what the cpu backend
 * computes: products with every transpose combination (plain, fused with bias and activation,
 * batched), slices of every rank (contiguous runs and strided ones, float32 / int32 / bool),
 * SplitV and Unpack; gradients through transposed products; and no wasm buffer is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../shared/engine/tf.js';
import { listAvailableBackends, withBackend } from '../../../shared/engine/select-backend.js';
import { WASM_KERNEL_FIXES } from '../../../shared/engine/wasm-kernels.js';
import type { Tensor } from '@tensorflow/tfjs';

const hasWasm = (await listAvailableBackends()).includes('wasm');
const skip = !hasWasm && 'wasm backend does not initialise here';

/** Deterministic values in (-1, 1). */
function values(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(seed * 12.9898 + i * 78.233) * 0.9;
  return v;
}

interface Case {
  name: string;
  /** Builds the inputs (as plain arrays) and runs the op on the active backend. */
  run: () => Tensor | Tensor[];
}

/** Runs each case on cpu and on wasm and compares element by element. */
async function compareOnBackends(cases: Case[], tol: number): Promise<void> {
  const download = (r: Tensor | Tensor[]) =>
    (Array.isArray(r) ? r : [r]).map((t) => ({
      shape: t.shape,
      dtype: t.dtype,
      data: Array.from(t.dataSync()),
    }));
  const want = await withBackend('cpu', () => cases.map((c) => tf.tidy(() => download(c.run()))));
  await withBackend('wasm', () => {
    const before = tf.memory().numTensors;
    const backend = tf.engine().backend as unknown as { numDataIds(): number };
    const idsBefore = backend.numDataIds();
    cases.forEach((c, k) => {
      const got = tf.tidy(() => download(c.run()));
      assert.equal(got.length, want[k]!.length, `${c.name}: number of outputs`);
      got.forEach((g, j) => {
        const w = want[k]![j]!;
        assert.deepEqual(g.shape, w.shape, `${c.name} output ${j}: shape`);
        assert.equal(g.dtype, w.dtype, `${c.name} output ${j}: dtype`);
        for (let i = 0; i < w.data.length; i++) {
          assert.ok(
            Math.abs(g.data[i]! - w.data[i]!) <= tol * (1 + Math.abs(w.data[i]!)),
            `${c.name} output ${j}[${i}]: wasm ${g.data[i]} vs cpu ${w.data[i]}`,
          );
        }
      });
    });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.equal(backend.numDataIds(), idsBefore, 'wasm buffers leaked');
  });
}

const t2 = (rows: number, cols: number, seed: number) =>
  tf.tensor2d(values(rows * cols, seed), [rows, cols]);

test('the replaced kernels are registered for wasm', { skip }, async () => {
  await withBackend('wasm', () => {
    for (const name of WASM_KERNEL_FIXES)
      assert.ok(tf.getKernel(name, 'wasm'), `${name} is registered for wasm`);
  });
});

test(
  'matMul with every transpose combination equals cpu (2-D, 3-D batch 1, batched)',
  { skip },
  async () => {
    const cases: Case[] = [];
    for (const [m, k, n] of [
      [5, 7, 3],
      [64, 33, 17],
      [1, 9, 4],
    ] as const) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          cases.push({
            name: `matMul ${m}x${k}x${n} ta=${ta} tb=${tb}`,
            run: () =>
              tf.matMul(ta ? t2(k, m, 1) : t2(m, k, 1), tb ? t2(n, k, 2) : t2(k, n, 2), ta, tb),
          });
          cases.push({
            name: `3-D batch 1 ${m}x${k}x${n} ta=${ta} tb=${tb}`,
            run: () =>
              tf.matMul(
                tf.tensor3d(values(m * k, 3), ta ? [1, k, m] : [1, m, k]),
                tf.tensor3d(values(k * n, 4), tb ? [1, n, k] : [1, k, n]),
                ta,
                tb,
              ),
          });
          cases.push({
            name: `batched ${m}x${k}x${n} ta=${ta} tb=${tb}`,
            run: () =>
              tf.matMul(
                tf.tensor3d(values(3 * m * k, 5), ta ? [3, k, m] : [3, m, k]),
                tf.tensor3d(values(3 * k * n, 6), tb ? [3, n, k] : [3, k, n]),
                ta,
                tb,
              ),
          });
          for (const activation of ['linear', 'relu', 'sigmoid'] as const) {
            cases.push({
              name: `fused ${activation} ${m}x${k}x${n} ta=${ta} tb=${tb}`,
              run: () =>
                tf.fused.matMul({
                  a: ta ? t2(k, m, 7) : t2(m, k, 7),
                  b: tb ? t2(n, k, 8) : t2(k, n, 8),
                  transposeA: ta,
                  transposeB: tb,
                  bias: tf.tensor1d(values(n, 9)),
                  activation,
                }),
            });
          }
        }
      }
    }
    await compareOnBackends(cases, 1e-5);
  },
);

test('gradients through transposed products equal cpu', { skip }, async () => {
  const cases: Case[] = [];
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    cases.push({
      name: `grad matMul ta=${ta} tb=${tb}`,
      run: () => {
        const a = ta ? t2(6, 4, 11) : t2(4, 6, 11);
        const b = tb ? t2(5, 6, 12) : t2(6, 5, 12);
        const w = t2(4, 5, 13);
        const g = tf.grads((x: Tensor, y: Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)));
        return g([a, b]);
      },
    });
  }
  await compareOnBackends(cases, 1e-5);
});

test('slice, split and unstack of every rank and dtype equal cpu', { skip }, async () => {
  const shapes = [[7], [5, 6], [4, 5, 6], [3, 4, 2, 5], [2, 3, 2, 2, 3]];
  const cases: Case[] = [];
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const make = () =>
        dtype === 'float32'
          ? tf.tensor(values(n, shape.length), shape)
          : dtype === 'int32'
            ? tf.tensor(
                Int32Array.from({ length: n }, (_, i) => i * 7 - 50),
                shape,
                'int32',
              )
            : tf.tensor(
                Uint8Array.from({ length: n }, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0)),
                shape,
                'bool',
              );
      // A window inside every dimension (strided), a full-width trailing part (contiguous runs),
      // a single index along the first and along the last axis, an empty slice and a whole copy.
      const inner = shape.map((s) => (s > 2 ? 1 : 0));
      const innerSize = shape.map((s, i) => s - inner[i]! - (s > 3 ? 1 : 0));
      const tail = shape.map((s, i) => (i === 0 ? Math.min(1, s - 1) : 0));
      const tailSize = shape.map((s, i) => (i === 0 ? s - tail[0]! : s));
      const specs: Array<[string, number[], number[]]> = [
        ['window', inner, innerSize],
        ['trailing', tail, tailSize],
        ['first-axis index', shape.map(() => 0), shape.map((s, i) => (i === 0 ? 1 : s))],
        [
          'last-axis index',
          shape.map((s, i) => (i === shape.length - 1 ? s - 1 : 0)),
          shape.map((s, i) => (i === shape.length - 1 ? 1 : s)),
        ],
        ['empty', shape.map(() => 0), shape.map((s, i) => (i === 0 ? 0 : s))],
        ['whole', shape.map(() => 0), [...shape]],
      ];
      for (const [what, begin, size] of specs) {
        cases.push({
          name: `slice ${what} of [${shape}] ${dtype}`,
          run: () => tf.slice(make(), begin, size),
        });
      }
      for (let axis = 0; axis < shape.length; axis++) {
        cases.push({
          name: `unstack [${shape}] ${dtype} axis ${axis}`,
          run: () => tf.unstack(make(), axis),
        });
        if (shape[axis]! >= 3) {
          cases.push({
            name: `split [${shape}] ${dtype} axis ${axis}`,
            run: () => tf.split(make(), [1, shape[axis]! - 3, 2], axis),
          });
        }
      }
    }
  }
  cases.push({
    name: 'split into equal parts',
    run: () => tf.split(t2(6, 8, 21), 4, 1),
  });
  cases.push({
    name: 'slice with size -1',
    run: () => tf.slice(t2(6, 8, 22), [2, 3], [-1, -1]),
  });
  cases.push({
    name: 'gradient through unstack and split',
    run: () =>
      tf.grad((x: Tensor) =>
        tf.sum(
          tf.mul(
            tf.stack(
              tf.unstack(x, 1).map((p, i) => tf.mul(p, i + 1)),
              0,
            ),
            2,
          ),
        ),
      )(tf.tensor3d(values(60, 23), [3, 4, 5])),
  });
  await compareOnBackends(cases, 0);
});

test(
  'a clone shares the buffer, keeps its values after the original is disposed, and frees it last',
  { skip },
  async () => {
    await withBackend('wasm', () => {
      const backend = tf.engine().backend as unknown as { numDataIds(): number };
      const idsBefore = backend.numDataIds();
      const x = tf.tensor2d(values(12, 31), [3, 4]);
      const want = Array.from(x.dataSync());
      const y = tf.clone(x);
      const r = tf.reshape(y, [4, 3]);
      const z = tf.clone(r);
      r.dispose();
      x.dispose();
      assert.deepEqual(Array.from(y.dataSync()), want, 'clone after the original is disposed');
      y.dispose();
      assert.deepEqual(z.shape, [4, 3]);
      assert.deepEqual(
        Array.from(z.dataSync()),
        want,
        'clone of a reshape after both are disposed',
      );
      assert.equal(backend.numDataIds(), idsBefore + 1, 'one buffer while a clone lives');
      z.dispose();
      assert.equal(backend.numDataIds(), idsBefore, 'freed with the last clone');
      const s = tf.tensor1d(['a', 'bc'], 'string');
      const sc = tf.clone(s);
      s.dispose();
      assert.deepEqual(sc.dataSync(), ['a', 'bc'], 'string clone');
      sc.dispose();
    });
  },
);
