import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeError } from '../../../shared/errors/index.js';
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';
import {
  decodeTensor,
  decodeTensorData,
  encodeTensor,
  encodeTensorData,
} from '../../../shared/codec/tensor-codec.js';
import { decodeTensorSet, encodeTensorSet } from '../../../shared/codec/tensor-set-codec.js';
import {
  fromBfloat16Bits,
  fromFloat16Bits,
  toBfloat16Bits,
  toFloat16Bits,
} from '../../../shared/codec/half-precision.js';

const values = Float32Array.of(
  0,
  -0,
  1,
  -1.5,
  1 / 3,
  65504,
  1e-7,
  3.4e38,
  Infinity,
  -Infinity,
  2 ** -24,
  123.456,
);

test('float32 tensor data is little-endian IEEE bytes and decodes bit-exactly', () => {
  const bytes = encodeTensorData(Float32Array.of(1, -2));
  assert.deepEqual([...bytes], [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
  const back = decodeTensorData(encodeTensorData(values), 'float32');
  assert.deepEqual(back, values);
  assert.ok(Object.is(back[1], -0));
});

test('bfloat16 and float16 tensor data are 2 little-endian bytes per value, rounded like the scalar conversions', () => {
  const bf = encodeTensorData(Float32Array.of(1), 'bfloat16');
  assert.deepEqual([...bf], [0x80, 0x3f]);
  const half = encodeTensorData(Float32Array.of(1), 'float16');
  assert.deepEqual([...half], [0x00, 0x3c]);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const [to, from] =
      dtype === 'bfloat16' ? [toBfloat16Bits, fromBfloat16Bits] : [toFloat16Bits, fromFloat16Bits];
    const back = decodeTensorData(encodeTensorData(values, dtype), dtype);
    assert.equal(back.length, values.length);
    for (let i = 0; i < values.length; i++)
      assert.ok(Object.is(back[i], from(to(values[i]!))), `${dtype} value ${values[i]}`);
  }
});

test('NaN survives every dtype', () => {
  for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
    const back = decodeTensorData(encodeTensorData(Float32Array.of(NaN, 1), dtype), dtype);
    assert.ok(Number.isNaN(back[0]), dtype);
    assert.equal(back[1], 1);
  }
});

test('a tensor message carries name, shape and dtype, and decodes from a subarray of a larger buffer', () => {
  const data = Float32Array.from({ length: 6 }, (_, i) => i / 7);
  for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
    const bytes = rnnstream.v1.Tensor.encode(
      encodeTensor('w', { shape: [2, 3], data }, dtype),
    ).finish();
    // Place the message at an odd offset so the data bytes are unaligned.
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const decoded = decodeTensor(rnnstream.v1.Tensor.decode(padded.subarray(3)));
    assert.equal(decoded.name, 'w');
    assert.equal(decoded.dtype, dtype);
    assert.deepEqual(decoded.shape, [2, 3]);
    assert.deepEqual(decoded.data, decodeTensorData(encodeTensorData(data, dtype), dtype));
    if (dtype === 'float32') assert.deepEqual(decoded.data, data);
  }
});

test('a shape that does not match the data is a ShapeError on both sides', () => {
  assert.throws(
    () => encodeTensor('w', { shape: [2, 2], data: new Float32Array(3) }),
    (e: unknown) =>
      e instanceof ShapeError && /holds 4 elements but the data has 3/.test(e.message),
  );
  assert.throws(() => encodeTensor('w', { shape: [-1], data: new Float32Array(0) }), ShapeError);
  assert.throws(
    () => decodeTensor({ name: 'w', shape: [3], dtype: 0, data: new Uint8Array(8) }),
    (e: unknown) =>
      e instanceof ShapeError && /needs 12 bytes but the message has 8/.test(e.message),
  );
  assert.throws(
    () =>
      decodeTensor({
        name: 'w',
        shape: [1],
        dtype: 9 as rnnstream.v1.Tensor.DType,
        data: new Uint8Array(4),
      }),
    /unknown dtype 9/,
  );
});

test('a tensor set round-trips names in order, shapes and values; a Float32Array is a vector', () => {
  const tensors = new Map<string, { shape: number[]; data: Float32Array } | Float32Array>([
    ['embedding', { shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) }],
    ['bias', Float32Array.of(0.5, -0.25)],
    ['scalar', { shape: [], data: Float32Array.of(7) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);
  const decoded = decodeTensorSet(encodeTensorSet(tensors));
  assert.deepEqual([...decoded.keys()], ['embedding', 'bias', 'scalar', 'empty']);
  assert.deepEqual(decoded.get('embedding'), {
    shape: [3, 2],
    data: Float32Array.of(1, 2, 3, 4, 5, 6),
  });
  assert.deepEqual(decoded.get('bias'), { shape: [2], data: Float32Array.of(0.5, -0.25) });
  assert.deepEqual(decoded.get('scalar'), { shape: [], data: Float32Array.of(7) });
  assert.deepEqual(decoded.get('empty'), { shape: [0, 4], data: new Float32Array(0) });
});

test('a tensor set is written byte for byte as protobufjs writes it, for every dtype', () => {
  const tensors = new Map<string, { shape: number[]; data: Float32Array } | Float32Array>([
    ['embedding', { shape: [3, 200], data: new Float32Array(600).map((_, i) => i / 7 - 40) }],
    ['bias', Float32Array.of(0.5, -0.25)],
    ['scalar', { shape: [], data: Float32Array.of(7) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ['', { shape: [1], data: Float32Array.of(-3) }],
    ['wide ünïcode', { shape: [70000, 1], data: new Float32Array(70000).fill(1e-3) }],
  ]);
  for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
    const reference = rnnstream.v1.TensorSet.encode({
      tensors: [...tensors].map(([name, value]) => encodeTensor(name, value, dtype)),
    }).finish();
    assert.deepEqual(
      Buffer.from(encodeTensorSet(tensors, dtype)),
      Buffer.from(reference),
      `${dtype} encoding differs from protobufjs'`,
    );
  }
});

test('a tensor set decodes the same from its bytes split into parts at any position', () => {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>([
    ['embedding', { shape: [3, 5], data: new Float32Array(15).map((_, i) => i * 0.25 - 1) }],
    ['bias', { shape: [4], data: Float32Array.of(0.5, -0.25, 3, 1e-3) }],
  ]);
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const bytes = encodeTensorSet(tensors, dtype);
    const whole = decodeTensorSet(bytes);
    for (let a = 0; a <= bytes.length; a += 3)
      for (let b = a; b <= bytes.length; b += 7) {
        const parts = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
        assert.deepEqual(decodeTensorSet(parts), whole, `${dtype} split at ${a}, ${b}`);
      }
  }
});

test('a tensor set decodes fields in any order, unpacked shapes, and skips unknown fields', () => {
  const writer = rnnstream.v1.Tensor.encode({ data: encodeTensorData(Float32Array.of(1, 2)) });
  writer.uint32((15 << 3) | 0).uint64(123456789); // a field from a newer writer
  writer.uint32((2 << 3) | 0).uint32(2); // shape [2], unpacked, after the data
  writer.uint32((3 << 3) | 0).int32(0); // dtype FLOAT32, explicit
  writer.uint32((1 << 3) | 2).string('w');
  const tensor = writer.finish();
  const set = rnnstream.v1.TensorSet.encode({}).finish();
  const bytes = Buffer.concat([
    set,
    Buffer.from([(1 << 3) | 2, tensor.length]),
    tensor,
    Buffer.from([(9 << 3) | 5, 1, 2, 3, 4]), // unknown fixed32 field of the set
  ]);
  assert.deepEqual(
    decodeTensorSet(bytes),
    new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]),
  );
  assert.throws(
    () => decodeTensorSet(bytes.subarray(0, bytes.length - 8)),
    /not a valid TensorSet message \(\d+ bytes\): .*runs past/,
  );
});
