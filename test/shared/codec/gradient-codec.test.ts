import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkError } from '../../../shared/codec/chunking.js';
import { CodecError } from '../../../shared/codec/codec-error.js';
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';
import {
  decodeGradientChunk,
  decodeGradientChunks,
  encodeGradientChunks,
  GradientAssembler,
  type GradientMessage,
} from '../../../shared/codec/gradient-codec.js';
import {
  decodeParamChunks,
  encodeParamChunks,
  ParamAssembler,
} from '../../../shared/codec/param-codec.js';
import {
  decodeTensorData,
  encodeTensorData,
  type TensorValue,
} from '../../../shared/codec/tensor-codec.js';

/** Kafka's default broker `message.max.bytes` / topic `max.message.bytes` (1 MB). */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x / 2 ** 32 - 0.5) * 0.02;
  }
  return out;
}

function shuffled<T>(items: readonly T[], seed = 11): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function bigGradient(): GradientMessage {
  // 3,000,000 floats = 12 MB of float32: many times Kafka's 1 MB default message limit.
  return {
    workerId: 'worker-3',
    step: 17,
    paramVersion: 5,
    tokens: 2048,
    lossSum: 1234.5,
    tensors: new Map<string, TensorValue | Float32Array>([
      ['lstm/kernel', { shape: [1000, 2000], data: randomFloats(2_000_000, 1) }],
      ['lstm/recurrent', { shape: [1000, 999], data: randomFloats(999_000, 2) }],
      ['lstm/bias', randomFloats(1000, 3)],
    ]),
  };
}

test("a 12 MB gradient round-trips through chunks that each fit Kafka's 1 MB default limit, in shuffled order", () => {
  const gradient = bigGradient();
  const chunks = encodeGradientChunks(gradient);
  assert.ok(chunks.length >= 13, `${chunks.length} chunks`);
  for (const bytes of chunks)
    assert.ok(
      bytes.length < 1_000_000 && bytes.length <= KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
      `chunk message of ${bytes.length} bytes`,
    );

  const assembler = new GradientAssembler();
  const order = shuffled(chunks);
  let result;
  for (const [i, bytes] of order.entries()) {
    result = assembler.add(bytes);
    if (i < order.length - 1) assert.equal(result, undefined);
  }
  assert.ok(result);
  assert.deepEqual({ ...result, tensors: undefined }, { ...gradient, tensors: undefined });
  assert.deepEqual([...result.tensors.keys()], ['lstm/kernel', 'lstm/recurrent', 'lstm/bias']);
  assert.deepEqual(result.tensors.get('lstm/kernel'), gradient.tensors.get('lstm/kernel'));
  assert.deepEqual(result.tensors.get('lstm/recurrent'), gradient.tensors.get('lstm/recurrent'));
  assert.deepEqual(result.tensors.get('lstm/bias'), {
    shape: [1000],
    data: gradient.tensors.get('lstm/bias'),
  });
  assert.equal(assembler.stats.completed, 1);
});

test('every chunk message carries the gradient header and its slice checksums', () => {
  const chunks = encodeGradientChunks(bigGradient(), { maxChunkBytes: 4_000_000 });
  assert.equal(chunks.length, 4);
  const headers = chunks.map((bytes) => rnnstream.v1.GradientChunk.decode(bytes));
  for (const [i, h] of headers.entries()) {
    assert.equal(h.workerId, 'worker-3');
    assert.equal(Number(h.step), 17);
    assert.equal(Number(h.paramVersion), 5);
    assert.equal(Number(h.tokens), 2048);
    assert.equal(h.lossSum, 1234.5);
    assert.equal(h.chunkIndex, i);
    assert.equal(h.chunkCount, 4);
    assert.equal(h.checksum, headers[0]!.checksum);
  }
  assert.equal(
    decodeGradientChunk(chunks[3]!).chunk.totalBytes,
    headers.reduce((s, h) => s + h.payload.length, 0),
  );
});

test('bfloat16 and float16 gradients halve the bytes and decode to the rounded values', () => {
  const data = randomFloats(10_000, 9);
  const gradient: GradientMessage = {
    workerId: 'w',
    step: 1,
    paramVersion: 0,
    tokens: 1,
    lossSum: 0.5,
    tensors: new Map([['g', data]]),
  };
  const f32 = encodeGradientChunks(gradient).reduce((s, b) => s + b.length, 0);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const chunks = encodeGradientChunks(gradient, { dtype, maxChunkBytes: 5000 });
    const bytes = chunks.reduce((s, b) => s + b.length, 0);
    assert.ok(bytes < f32 * 0.55, `${dtype}: ${bytes} vs ${f32} bytes`);
    const decoded = decodeGradientChunks(shuffled(chunks));
    assert.deepEqual(
      decoded.tensors.get('g')!.data,
      decodeTensorData(encodeTensorData(data, dtype), dtype),
    );
  }
});

test('a gradient with a missing chunk cannot be decoded and names the chunk', () => {
  const chunks = encodeGradientChunks(bigGradient());
  const without = chunks.filter((_, i) => i !== 5);
  assert.throws(
    () => decodeGradientChunks(without),
    (e: unknown) =>
      e instanceof ChunkError &&
      e.kind === 'missing' &&
      /worker-3#17: chunk 5 of \d+ not among/.test(e.message),
  );
  let now = 0;
  const assembler = new GradientAssembler({ now: () => now, maxAgeMs: 1000 });
  for (const bytes of without) assert.equal(assembler.add(bytes), undefined);
  assert.deepEqual(assembler.missing('worker-3', 17), [5]);
  now = 1001;
  const [dropped] = assembler.expire();
  assert.deepEqual(dropped!.missing, [5]);
  assert.equal(assembler.stats.droppedExpired, 1);
});

test('a corrupt or duplicate gradient chunk is reported, and the gradient still completes', () => {
  const chunks = encodeGradientChunks(bigGradient());
  const assembler = new GradientAssembler();
  assembler.add(chunks[0]!);
  assert.throws(
    () => assembler.add(chunks[0]!),
    (e: unknown) => e instanceof ChunkError && e.kind === 'duplicate',
  );
  const damaged = new Uint8Array(chunks[1]!);
  damaged[damaged.length - 100]! ^= 0xff; // inside the payload
  assert.throws(
    () => assembler.add(damaged),
    (e: unknown) => e instanceof ChunkError && e.kind === 'corrupt' && e.index === 1,
  );
  assert.throws(() => assembler.add(Uint8Array.of(0x0a, 0xff)), CodecError, 'truncated message');
  let result;
  for (const bytes of chunks.slice(1)) result = assembler.add(bytes);
  assert.ok(result);
  assert.equal(result.tensors.get('lstm/kernel')!.data.length, 2_000_000);
});

test('chunks of one gradient must agree on its version, tokens and loss', () => {
  const a = encodeGradientChunks({ ...bigGradient(), paramVersion: 5 });
  const b = encodeGradientChunks({ ...bigGradient(), paramVersion: 6 });
  const assembler = new GradientAssembler();
  assembler.add(a[0]!);
  assert.throws(
    () => assembler.add(b[1]!),
    (e: unknown) =>
      e instanceof ChunkError && e.kind === 'mismatch' && /param version 6/.test(e.message),
  );
});

test('invalid gradient metadata is refused before encoding', () => {
  const base = {
    workerId: 'w',
    step: 1,
    paramVersion: 0,
    tokens: 1,
    lossSum: 0,
    tensors: new Map(),
  };
  assert.throws(() => encodeGradientChunks({ ...base, workerId: '' }), RangeError);
  assert.throws(() => encodeGradientChunks({ ...base, step: -1 }), /step is -1/);
  assert.throws(() => encodeGradientChunks({ ...base, tokens: 1.5 }), /tokens is 1.5/);
});

test('a parameter version carries the ids of the gradients it applied, and none when it applied none', () => {
  const tensors = new Map([['w', new Float32Array([1, 2, 3])]]);
  const applied = [
    { workerId: 'w0/1a2b', step: 7 },
    { workerId: 'w1/ffee', step: 2 ** 40 },
  ];
  const withIds = decodeParamChunks(
    encodeParamChunks({ modelId: 'demo', version: 3, tensors, applied }, { maxChunkBytes: 8 }),
  );
  assert.deepEqual(withIds.applied, applied);
  const without = decodeParamChunks(encodeParamChunks({ modelId: 'demo', version: 0, tensors }));
  assert.deepEqual(without.applied, []);
});

test('parameter versions round-trip through ParamChunk messages in any order', () => {
  const tensors = new Map<string, TensorValue | Float32Array>([
    ['embedding', { shape: [256, 64], data: randomFloats(256 * 64, 4) }],
    ['head/bias', randomFloats(256, 5)],
  ]);
  const chunks = encodeParamChunks(
    { modelId: 'demo', version: 42, tensors },
    { maxChunkBytes: 10_000 },
  );
  assert.ok(chunks.length > 5);
  const decoded = decodeParamChunks(shuffled(chunks));
  assert.equal(decoded.modelId, 'demo');
  assert.equal(decoded.version, 42);
  assert.deepEqual(decoded.tensors.get('embedding'), tensors.get('embedding'));
  assert.deepEqual(decoded.tensors.get('head/bias'), {
    shape: [256],
    data: tensors.get('head/bias'),
  });

  const assembler = new ParamAssembler();
  assembler.add(chunks[0]!);
  assert.throws(
    () => assembler.add(chunks[0]!),
    (e: unknown) => e instanceof ChunkError && e.kind === 'duplicate',
  );
  assert.throws(
    () => decodeParamChunks(chunks.slice(1)),
    (e: unknown) =>
      e instanceof ChunkError && e.kind === 'missing' && /demo#42: chunk 0 of/.test(e.message),
  );
});

test('chunk messages (payload written after the header fields) decode as protobufjs encodes them', () => {
  const tensors = new Map([['w', { shape: [500, 600], data: randomFloats(300_000, 5) }]]);
  const gradient: GradientMessage = {
    workerId: 'w-1',
    step: 12,
    paramVersion: 3,
    tokens: 640,
    lossSum: 1234.5,
    tensors,
  };
  const chunks = encodeGradientChunks(gradient, { maxChunkBytes: 400_000 });
  assert.equal(chunks.length, 4); // 1.2 MB of floats and the TensorSet's field headers
  for (const bytes of chunks) {
    const decoded = rnnstream.v1.GradientChunk.decode(bytes);
    const again = rnnstream.v1.GradientChunk.decode(
      rnnstream.v1.GradientChunk.encode(decoded).finish(),
    );
    assert.deepEqual(decoded.toJSON(), again.toJSON());
    assert.equal(decoded.workerId, 'w-1');
    if (decoded.chunkIndex < 3) assert.equal(decoded.payload.length, 400_000);
  }
  const params = encodeParamChunks(
    { modelId: 'm', version: 9, tensors, applied: [{ workerId: 'w-1', step: 12 }] },
    { maxChunkBytes: 400_000 },
  );
  for (const bytes of params) {
    const decoded = rnnstream.v1.ParamChunk.decode(bytes);
    assert.deepEqual(
      decoded.applied.map((g) => g.workerId),
      ['w-1'],
    );
    assert.equal(decoded.chunkCount, 4);
  }
  assert.deepEqual(decodeGradientChunks(shuffled(chunks)).tensors.get('w'), tensors.get('w'));
  assert.deepEqual(decodeParamChunks(shuffled(params)).tensors.get('w'), tensors.get('w'));
  // 16-bit data is converted in blocks that straddle chunk boundaries (chunks of 7,777 bytes).
  const half = encodeGradientChunks(gradient, { dtype: 'bfloat16', maxChunkBytes: 7_777 });
  const w = tensors.get('w')!.data;
  assert.deepEqual(decodeGradientChunks(shuffled(half)).tensors.get('w'), {
    shape: [500, 600],
    data: decodeTensorData(encodeTensorData(w, 'bfloat16'), 'bfloat16'),
  });
});
