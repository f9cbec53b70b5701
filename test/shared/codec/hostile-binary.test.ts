import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  ChunkAssembler,
  ChunkError,
  MAX_SET_LABEL_CHARS,
  splitPayload,
  type PayloadChunk,
} from '../../../shared/codec/chunking.js';
import { CodecError } from '../../../shared/codec/codec-error.js';
import { crc32 } from '../../../shared/codec/crc32.js';
import {
  decodeDeadLetter,
  encodeDeadLetter,
  type DeadLetterRecord,
} from '../../../shared/codec/dead-letter-codec.js';
import {
  decodeGradientChunk,
  decodeGradientChunks,
  encodeGradientChunks,
  GradientAssembler,
  type GradientMessage,
} from '../../../shared/codec/gradient-codec.js';
import {
  float16BitsToFloat32Bits,
  float32BitsToFloat16Bits,
  bfloat16BitsToFloat32Bits,
  float32BitsToBfloat16Bits,
} from '../../../shared/codec/half-precision.js';
import { int64ToNumber } from '../../../shared/codec/int64.js';
import {
  decodeKeyState,
  encodeKeyState,
  type KeyStateRecord,
} from '../../../shared/codec/key-state-codec.js';
import {
  decodeParamChunk,
  decodeParamChunks,
  encodeParamChunks,
  ParamAssembler,
  type ParamMessage,
} from '../../../shared/codec/param-codec.js';
import { decodePrediction, encodePrediction } from '../../../shared/codec/prediction-codec.js';
import type { TensorDType, TensorValue } from '../../../shared/codec/tensor-codec.js';
import {
  decodeTensorSet,
  encodeTensorSet,
  MAX_TENSOR_NAME_BYTES,
} from '../../../shared/codec/tensor-set-codec.js';
import { ShapeError } from '../../../shared/errors/index.js';
import type { Prediction } from '../../../shared/events/prediction.js';
import {
  exactIn16Bits,
  extremeUint32,
  extremeUint64,
  float32,
  hostileVariants,
  junkBytes,
  key,
  nestedGroups,
  SEED,
  typedOutcome,
  varint,
} from '../../support/hostile-bytes.js';

const RUNS = { seed: SEED, numRuns: 1000 };

// ---- valid values ------------------------------------------------------------------------------

const name = fc.string({ unit: 'binary', maxLength: 12 });
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });

/** Named tensors whose values are exact in `dtype` (so the decoded values must equal them). */
function tensorsArb(dtype: TensorDType): fc.Arbitrary<Map<string, TensorValue>> {
  const values = dtype === 'float32' ? float32 : exactIn16Bits;
  return fc
    .uniqueArray(fc.tuple(name, shapeArb), { selector: ([n]) => n, maxLength: 4 })
    .chain((list) =>
      fc.tuple(
        ...list.map(([n, shape]) => {
          const length = shape.reduce((a, b) => a * b, 1);
          return fc
            .array(values, { minLength: length, maxLength: length })
            .map((v) => [n, { shape, data: Float32Array.from(v) }] as const);
        }),
      ),
    )
    .map((entries) => new Map<string, TensorValue>(entries));
}

const dtypeArb = fc.constantFrom<TensorDType>('float32', 'bfloat16', 'float16');
const tensorsWithDtype = dtypeArb.chain((dtype) => fc.tuple(fc.constant(dtype), tensorsArb(dtype)));

const safeCount = fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 53 - 1));

const gradientArb: fc.Arbitrary<[GradientMessage, TensorDType, number]> = fc
  .tuple(
    fc.record({
      workerId: fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
      step: safeCount,
      paramVersion: safeCount,
      tokens: safeCount,
      lossSum: fc.double({ noNaN: true }),
    }),
    tensorsWithDtype,
    fc.integer({ min: 8, max: 200 }),
  )
  .map(([header, [dtype, tensors], maxChunkBytes]) => [
    { ...header, tensors },
    dtype,
    maxChunkBytes,
  ]);

const paramArb: fc.Arbitrary<[ParamMessage, number]> = fc
  .tuple(
    fc.record({
      modelId: fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
      version: safeCount,
      applied: fc.array(
        // fc.record makes objects without a prototype; decoded ones have Object's.
        fc
          .record({ workerId: fc.string({ unit: 'binary', maxLength: 8 }), step: safeCount })
          .map((g) => ({ ...g })),
        { maxLength: 3 },
      ),
    }),
    tensorsArb('float32'),
    fc.integer({ min: 8, max: 200 }),
  )
  .map(([header, tensors, maxChunkBytes]) => [{ ...header, tensors }, maxChunkBytes]);

function assertSameTensors(actual: Map<string, TensorValue>, expected: Map<string, TensorValue>) {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [n, { shape, data }] of expected) {
    assert.deepEqual(actual.get(n)!.shape, shape, `shape of '${n}'`);
    assert.deepEqual(actual.get(n)!.data, data, `values of '${n}'`);
  }
}

/** The bytes cut into consecutive parts at the given points (as a chunked payload arrives). */
function cutInto(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  return parts;
}

/**
 * The valid bytes with one field of `fields` given again at the end, with an extreme value or the
 * wrong wire type: protobuf keeps the last value of a scalar field, so this replaces it.
 */
function withFieldReplaced(valid: Uint8Array, fields: readonly number[]): fc.Arbitrary<Uint8Array> {
  const field = fc.constantFrom(...fields);
  const value = fc.oneof(
    fc.tuple(field, extremeUint64).map(([f, v]) => [...key(f, 0), ...varint(v)]),
    fc.tuple(field, extremeUint32).map(([f, v]) => [...key(f, 0), ...varint(v)]),
    fc
      .tuple(field, fc.uint8Array({ maxLength: 64 }))
      .map(([f, b]) => [...key(f, 2), ...varint(b.length), ...b]),
    fc
      .tuple(field, fc.uint8Array({ minLength: 8, maxLength: 8 }))
      .map(([f, b]) => [...key(f, 1), ...b]),
    fc
      .tuple(field, fc.uint8Array({ minLength: 4, maxLength: 4 }))
      .map(([f, b]) => [...key(f, 5), ...b]),
  );
  return value.map((extra) => Uint8Array.from([...valid, ...extra]));
}

/** Hostile inputs around one valid encoding: junk, mutations of it, and its fields replaced. */
function hostileAround(valid: Uint8Array, fields: readonly number[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(junkBytes, hostileVariants(valid), withFieldReplaced(valid, fields));
}

// ---- tensor sets -------------------------------------------------------------------------------

test('a TensorSet decodes to exactly the tensors encoded, in one buffer or in parts cut anywhere', () => {
  fc.assert(
    fc.property(
      tensorsWithDtype,
      fc.array(fc.nat(), { maxLength: 6 }),
      ([dtype, tensors], cuts) => {
        const bytes = encodeTensorSet(tensors, dtype);
        assertSameTensors(decodeTensorSet(bytes), tensors);
        assertSameTensors(decodeTensorSet(cutInto(bytes, cuts)), tensors);
      },
    ),
    RUNS,
  );
});

test('hostile TensorSet bytes, whole or in parts, fail with a CodecError or ShapeError within a second', () => {
  const valid = encodeTensorSet(
    new Map<string, TensorValue>([
      ['w', { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }],
      ['b', { shape: [3], data: Float32Array.of(-1, 0, 1) }],
    ]),
    'bfloat16',
  );
  let rejected = 0;
  fc.assert(
    fc.property(
      hostileAround(valid, [1, 2, 3, 4]),
      fc.array(fc.nat(), { maxLength: 4 }),
      (bytes, cuts) => {
        const whole = typedOutcome(() => decodeTensorSet(bytes), [CodecError, ShapeError]);
        const parts = typedOutcome(
          () => decodeTensorSet(cutInto(bytes, cuts)),
          [CodecError, ShapeError],
        );
        assert.equal(parts === undefined, whole === undefined, 'parts decode as the whole does');
        if (whole === undefined) rejected++;
      },
    ),
    RUNS,
  );
  assert.ok(rejected > RUNS.numRuns / 2, `${rejected} of ${RUNS.numRuns} rejected`);
});

test('tensors nested a million groups deep are rejected without recursion', () => {
  const bytes = Uint8Array.from([...key(1, 2), ...varint(2_000_000), ...nestedGroups(1_000_000)]);
  typedOutcome(() => assert.throws(() => decodeTensorSet(bytes), CodecError), []);
});

test('a TensorSet of many small tensors in one-byte parts decodes in time linear in its size', () => {
  // 20,000 tensors over ~250,000 parts: seeking back to each tensor's data from the first part
  // took tensors × parts steps (seconds); a binary search takes milliseconds.
  const tensors = new Map<string, TensorValue>();
  for (let i = 0; i < 20_000; i++) tensors.set(`t${i}`, { shape: [0], data: new Float32Array(0) });
  const bytes = encodeTensorSet(tensors);
  const parts = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  const decoded = typedOutcome(() => decodeTensorSet(parts), []);
  assert.equal(decoded?.size, 20_000);
});

test(`a tensor name of more than ${MAX_TENSOR_NAME_BYTES} bytes is a CodecError, and is refused when encoding`, () => {
  const long = 'n'.repeat(MAX_TENSOR_NAME_BYTES + 1);
  const nameField = [...key(1, 2), ...varint(long.length), ...Buffer.from(long)];
  const shapeField = [...key(2, 2), 1, 0];
  const tensor = [...nameField, ...shapeField];
  const bytes = Uint8Array.from([...key(1, 2), ...varint(tensor.length), ...tensor]);
  assert.throws(() => decodeTensorSet(bytes), /tensor name of 4097 bytes is longer than 4096/);
  const empty = { shape: [0], data: new Float32Array(0) };
  assert.throws(() => encodeTensorSet(new Map([[long, empty]])), ShapeError);
  const longest = 'n'.repeat(MAX_TENSOR_NAME_BYTES);
  assert.deepEqual(
    [...decodeTensorSet(encodeTensorSet(new Map([[longest, empty]]))).keys()],
    [longest],
  );
});

// ---- gradient and parameter chunks -------------------------------------------------------------

/** Deterministic shuffle with a duplicate of some chunks (Kafka redelivers). */
function deliveryOrder<T>(items: readonly T[], order: number[], duplicates: number[]): T[] {
  const out = items.map((item, i) => ({ item, rank: order[i % Math.max(1, order.length)] ?? i }));
  out.sort((a, b) => a.rank - b.rank);
  const shuffled = out.map((o) => o.item);
  for (const d of duplicates) shuffled.push(items[d % items.length]!);
  return shuffled;
}

const GRADIENT_FIELDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const PARAM_FIELDS = [1, 2, 3, 4, 5, 6, 7, 8, 9];

test('gradient chunks in any order, redelivered and among hostile chunks, reassemble exactly the gradient encoded', () => {
  const decoy = encodeGradientChunks(
    {
      workerId: 'decoy-worker-with-a-long-id',
      step: 1,
      paramVersion: 1,
      tokens: 1,
      lossSum: 1,
      tensors: new Map([['d', Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8)]]),
    },
    { maxChunkBytes: 10 },
  );
  const hostile = fc.array(
    fc.constantFrom(...decoy).chain((chunk) => hostileAround(chunk, GRADIENT_FIELDS)),
    { maxLength: 6 },
  );
  fc.assert(
    fc.property(
      gradientArb,
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      hostile,
      ([gradient, dtype, maxChunkBytes], order, duplicates, junk) => {
        const chunks = encodeGradientChunks(gradient, { dtype, maxChunkBytes });
        const assembler = new GradientAssembler({ maxPendingBytes: 1 << 20 });
        const results = [];
        // The hostile chunks go first: they must not spoil a set that starts after them.
        for (const bytes of [...junk, ...deliveryOrder(chunks, order, duplicates)]) {
          const done = typedOutcome(() => assembler.add(bytes), [CodecError]);
          if (done !== undefined && done.workerId === gradient.workerId) results.push(done);
        }
        assert.equal(results.length, 1, 'the gradient completes once');
        const { tensors, ...header } = results[0]!;
        const { tensors: expected, ...expectedHeader } = gradient;
        assert.deepEqual(header, expectedHeader);
        assertSameTensors(tensors, expected as Map<string, TensorValue>);
        assert.ok(assembler.stats.pendingBytes <= 1 << 20);
        const batch = decodeGradientChunks(deliveryOrder(chunks, order, []));
        assertSameTensors(batch.tensors, expected as Map<string, TensorValue>);
      },
    ),
    RUNS,
  );
});

test('hostile GradientChunk bytes fail with a CodecError within a second, alone, in a set or in a batch', () => {
  const [first, second] = encodeGradientChunks(
    {
      workerId: 'w',
      step: 5,
      paramVersion: 4,
      tokens: 3,
      lossSum: 2,
      tensors: new Map([['g', Float32Array.of(1, 2, 3, 4, 5, 6)]]),
    },
    { maxChunkBytes: 16 },
  );
  const assembler = new GradientAssembler({ maxPendingBytes: 100_000, maxPendingChunks: 50 });
  fc.assert(
    fc.property(hostileAround(first!, GRADIENT_FIELDS), (bytes) => {
      typedOutcome(() => decodeGradientChunk(bytes), [CodecError]);
      typedOutcome(() => assembler.add(bytes), [CodecError]);
      typedOutcome(() => decodeGradientChunks([bytes, second!]), [CodecError]);
      assert.ok(assembler.stats.pendingBytes <= 100_000);
      assert.ok(assembler.stats.pendingChunks <= 50);
    }),
    RUNS,
  );
});

test('parameter chunks in any order, redelivered and among hostile chunks, reassemble exactly the version encoded', () => {
  const decoy = encodeParamChunks(
    {
      modelId: 'decoy-model-with-a-long-id',
      version: 3,
      tensors: new Map([['d', Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8)]]),
      applied: [{ workerId: 'w', step: 2 }],
    },
    { maxChunkBytes: 10 },
  );
  const hostile = fc.array(
    fc.constantFrom(...decoy).chain((chunk) => hostileAround(chunk, PARAM_FIELDS)),
    { maxLength: 6 },
  );
  fc.assert(
    fc.property(
      paramArb,
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      hostile,
      ([params, maxChunkBytes], order, duplicates, junk) => {
        const chunks = encodeParamChunks(params, { maxChunkBytes });
        const assembler = new ParamAssembler({ maxPendingBytes: 1 << 20 });
        const results = [];
        for (const bytes of [...junk, ...deliveryOrder(chunks, order, duplicates)]) {
          const done = typedOutcome(() => assembler.add(bytes), [CodecError]);
          if (done !== undefined && done.modelId === params.modelId) results.push(done);
        }
        assert.equal(results.length, 1, 'the version completes once');
        const { tensors, ...header } = results[0]!;
        const { tensors: expected, ...expectedHeader } = params;
        assert.deepEqual(header, expectedHeader);
        assertSameTensors(tensors, expected as Map<string, TensorValue>);
        const batch = decodeParamChunks(deliveryOrder(chunks, order, []));
        assertSameTensors(batch.tensors, expected as Map<string, TensorValue>);
      },
    ),
    RUNS,
  );
});

test('hostile ParamChunk bytes fail with a CodecError within a second, alone, in a set or in a batch', () => {
  const [first, second] = encodeParamChunks(
    {
      modelId: 'm',
      version: 7,
      tensors: new Map([['p', Float32Array.of(1, 2, 3, 4, 5, 6)]]),
      applied: [{ workerId: 'w', step: 1 }],
    },
    { maxChunkBytes: 16 },
  );
  const assembler = new ParamAssembler({ maxPendingBytes: 100_000, maxPendingChunks: 50 });
  fc.assert(
    fc.property(hostileAround(first!, PARAM_FIELDS), (bytes) => {
      typedOutcome(() => decodeParamChunk(bytes), [CodecError]);
      typedOutcome(() => assembler.add(bytes), [CodecError]);
      typedOutcome(() => decodeParamChunks([bytes, second!]), [CodecError]);
      assert.ok(assembler.stats.pendingBytes <= 100_000);
      assert.ok(assembler.stats.pendingChunks <= 50);
    }),
    RUNS,
  );
});

// ---- the chunk assembler's bounds --------------------------------------------------------------

/** A chunk header with any values a decoded message could give, and a checksum that matches. */
const hostileChunk: fc.Arbitrary<PayloadChunk> = fc
  .record({
    index: extremeUint32,
    count: extremeUint32,
    totalBytes: fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(2 ** 31, 2 ** 50, 2 ** 53 - 1)),
    checksum: extremeUint32,
    data: fc.uint8Array({ maxLength: 48 }),
    goodChecksum: fc.boolean(),
  })
  .map(({ goodChecksum, data, ...header }) => ({
    ...header,
    data,
    chunkChecksum: goodChecksum ? crc32(data) : header.checksum,
  }));

test('whatever chunk headers arrive, the assembler stays within its byte and chunk bounds and throws only ChunkErrors', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.nat({ max: 30 }), hostileChunk), {
        maxLength: 60,
      }),
      (chunks) => {
        const assembler = new ChunkAssembler({ maxPendingBytes: 200, maxPendingChunks: 10 });
        for (const [source, id, chunk] of chunks) {
          typedOutcome(() => assembler.add(source, id, chunk), [ChunkError]);
          const { pendingBytes, pendingChunks } = assembler.stats;
          assert.ok(pendingBytes <= 200, `${pendingBytes} bytes pending`);
          assert.ok(pendingChunks <= 10, `${pendingChunks} chunks pending`);
        }
      },
    ),
    RUNS,
  );
});

test('a flood of incomplete one-chunk sets is handled in linear time and bounded by maxPendingChunks', () => {
  const data = Uint8Array.of(7);
  const chunk = {
    index: 0,
    count: 2,
    totalBytes: 2,
    checksum: 0,
    chunkChecksum: crc32(data),
    data,
  };
  const flooded = new ChunkAssembler();
  const start = performance.now();
  // Each add used to walk every pending set to expire old ones: 40,000² / 2 steps (9 s).
  for (let id = 0; id < 40_000; id++) flooded.add('w', id, chunk);
  const ms = performance.now() - start;
  assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  assert.equal(flooded.stats.pendingChunks, 40_000);

  const bounded = new ChunkAssembler({ maxPendingChunks: 1000 });
  for (let id = 0; id < 3000; id++) bounded.add('w', id, chunk);
  assert.equal(bounded.stats.pendingChunks, 1000);
  assert.equal(bounded.stats.pendingSets, 1000);
  assert.equal(bounded.stats.droppedMemory, 2000);
  assert.equal(bounded.missing('w', 1999), undefined, 'the oldest sets were dropped');
  assert.deepEqual(bounded.missing('w', 2000), [1]);
});

test('an empty chunk in a set of several, or a source beyond the label limit, is invalid', () => {
  const assembler = new ChunkAssembler();
  const empty = new Uint8Array(0);
  assert.throws(
    () =>
      assembler.add('w', 1, {
        index: 0,
        count: 2,
        totalBytes: 2,
        checksum: 0,
        chunkChecksum: 0,
        data: empty,
      }),
    (e) =>
      e instanceof ChunkError &&
      e.kind === 'invalid' &&
      /empty chunk in a set of 2/.test(e.message),
  );
  const [single] = splitPayload(Uint8Array.of(1, 2, 3));
  // Many sources of one length beyond 16,383 characters would hash alike in V8's Maps.
  const start = performance.now();
  for (let i = 0; i < 2000; i++) {
    const source = `${'x'.repeat(20_000)}${String(i).padStart(6, '0')}`;
    assert.throws(
      () => assembler.add(source, 1, single!),
      (e) =>
        e instanceof ChunkError &&
        e.kind === 'invalid' &&
        e.message.includes(`longer than ${MAX_SET_LABEL_CHARS}`) &&
        e.message.length < 500 &&
        e.source.length < MAX_SET_LABEL_CHARS + 100,
    );
  }
  assert.ok(performance.now() - start < 1000);
  assert.equal(assembler.stats.invalid, 2001);
  const longest = 'y'.repeat(MAX_SET_LABEL_CHARS);
  assert.deepEqual(assembler.add(longest, 1, single!), Uint8Array.of(1, 2, 3));
  assert.throws(
    () =>
      encodeGradientChunks({
        workerId: 'z'.repeat(MAX_SET_LABEL_CHARS + 1),
        step: 0,
        paramVersion: 0,
        tokens: 1,
        lossSum: 0,
        tensors: new Map(),
      }),
    RangeError,
  );
});

// ---- key state ---------------------------------------------------------------------------------

const keyStateArb: fc.Arbitrary<KeyStateRecord> = fc
  .record({
    key: fc.string({ unit: 'binary', maxLength: 20 }),
    stateSize: fc.integer({ min: 0, max: 6 }),
    snapshotPositions: fc.uniqueArray(fc.nat(), { maxLength: 3 }),
    tokens: fc.boolean(),
    classTargets: fc.boolean(),
    featureSize: fc.integer({ min: 0, max: 3 }),
    count: fc.integer({ min: 0, max: 5 }),
    position: safeCount,
    pending: safeCount,
    closing: fc.boolean(),
    previousToken: fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 }),
    hasPreviousFeatures: fc.boolean(),
    paramVersion: safeCount,
    inputOffset: fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 }),
    tsMs: fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 }),
    lastSeenMs: fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 }),
  })
  .chain((r) => {
    const floats = (n: number) =>
      fc.array(float32, { minLength: n, maxLength: n }).map((v) => Float32Array.from(v));
    const ints = (n: number) =>
      fc
        .array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n })
        .map((v) => Int32Array.from(v));
    const rows = r.count * r.featureSize;
    return fc
      .record({
        state: floats(r.stateSize),
        snapshotStates: fc.tuple(...r.snapshotPositions.map(() => floats(r.stateSize))),
        input: r.tokens ? ints(r.count) : floats(rows),
        target: r.classTargets ? ints(r.count) : floats(rows),
        hasLoss: fc.uint8Array({ min: 0, max: 1, minLength: r.count, maxLength: r.count }),
        previousFeatures: floats(r.featureSize),
      })
      .map((v): KeyStateRecord => ({
        key: r.key,
        state: v.state,
        snapshots: r.snapshotPositions.map((position, i) => ({
          position,
          state: v.snapshotStates[i]!,
        })),
        steps: {
          inputKind: r.tokens ? 'tokens' : 'features',
          targetKind: r.classTargets ? 'class' : 'regression',
          featureSize: r.featureSize,
          count: r.count,
          ...(r.tokens
            ? { inputTokens: v.input as Int32Array }
            : { inputFeatures: v.input as Float32Array }),
          ...(r.classTargets
            ? { classTargets: v.target as Int32Array }
            : // horizon 0: the form of records written before forecast horizons
              { regressionTargets: v.target as Float32Array, horizon: 0 }),
          hasLoss: v.hasLoss,
        },
        position: r.position,
        pending: r.pending,
        closing: r.closing,
        previousToken: r.previousToken,
        ...(r.hasPreviousFeatures ? { previousFeatures: v.previousFeatures } : {}),
        paramVersion: r.paramVersion,
        inputOffset: r.inputOffset,
        tsMs: r.tsMs,
        lastSeenMs: r.lastSeenMs,
      }));
  });

test('a KeyState record decodes to exactly the record encoded', () => {
  fc.assert(
    fc.property(keyStateArb, (record) => {
      assert.deepEqual(decodeKeyState(encodeKeyState(record)), record);
    }),
    RUNS,
  );
});

test('hostile KeyState bytes fail with a CodecError within a second', () => {
  fc.assert(
    fc.property(
      keyStateArb.chain((record) =>
        hostileAround(encodeKeyState(record), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
      ),
      (bytes) => void typedOutcome(() => decodeKeyState(bytes), [CodecError]),
    ),
    RUNS,
  );
});

test('a KeyState whose window-start state differs in length from its state is a CodecError', () => {
  const record: KeyStateRecord = {
    key: 'k',
    state: Float32Array.of(1, 2),
    snapshots: [{ position: 4, state: Float32Array.of(1, 2, 3) }],
    steps: {
      inputKind: 'tokens',
      targetKind: 'class',
      featureSize: 0,
      count: 0,
      inputTokens: new Int32Array(0),
      classTargets: new Int32Array(0),
      hasLoss: new Uint8Array(0),
    },
    position: 4,
    pending: 0,
    closing: false,
    previousToken: 0,
    paramVersion: 0,
    inputOffset: 0,
    tsMs: 0,
    lastSeenMs: 0,
  };
  assert.throws(
    () => decodeKeyState(encodeKeyState(record)),
    (e) =>
      e instanceof CodecError &&
      /snapshot at position 4 has 3 state values, the key's state 2/.test(e.message),
  );
});

// ---- dead letters and predictions --------------------------------------------------------------

const safeInt = fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 });
const deadLetterArb: fc.Arbitrary<DeadLetterRecord> = fc
  .record({
    originalKey: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: undefined }),
    originalValue: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
    sourceTopic: fc.string({ unit: 'binary', maxLength: 16 }),
    partition: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    offset: safeInt,
    error: fc.string({ unit: 'binary', maxLength: 40 }),
    errorType: fc.string({ maxLength: 12 }),
    tsMs: safeInt,
    originalTsMs: fc.option(safeInt, { nil: undefined }),
  })
  .map(
    (r) =>
      Object.fromEntries(
        Object.entries(r).filter(([, v]) => v !== undefined),
      ) as unknown as DeadLetterRecord,
  );

test('a DeadLetter decodes to exactly the record encoded; hostile bytes fail with a CodecError', () => {
  fc.assert(
    fc.property(deadLetterArb, (record) => {
      assert.deepEqual(decodeDeadLetter(encodeDeadLetter(record)), record);
    }),
    RUNS,
  );
  fc.assert(
    fc.property(
      deadLetterArb.chain((r) => hostileAround(encodeDeadLetter(r), [1, 2, 3, 4, 5, 6, 7, 8, 9])),
      (bytes) => void typedOutcome(() => decodeDeadLetter(bytes), [CodecError]),
    ),
    RUNS,
  );
});

const predictionArb: fc.Arbitrary<Prediction> = fc
  .record({
    index: safeCount,
    key: fc.string({ unit: 'binary', maxLength: 12 }),
    task: fc.constantFrom<Prediction['task']>('lm', 'tag', 'classify', 'forecast'),
    paramVersion: safeCount,
    line: fc.option(safeCount, { nil: undefined }),
    eos: fc.option(fc.boolean(), { nil: undefined }),
    predictedToken: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
    probability: fc.option(fc.double(), { nil: undefined }),
    bits: fc.option(fc.double(), { nil: undefined }),
    label: fc.option(fc.oneof(fc.string({ maxLength: 6 }), safeInt), { nil: undefined }),
    confidence: fc.option(fc.double(), { nil: undefined }),
    actual: fc.option(
      fc.oneof(fc.string({ maxLength: 6 }), safeInt, fc.array(fc.double(), { maxLength: 4 })),
      { nil: undefined },
    ),
    forecast: fc.option(fc.array(fc.double(), { maxLength: 4 }), { nil: undefined }),
    squaredError: fc.option(fc.double(), { nil: undefined }),
    partition: fc.option(fc.nat({ max: 2 ** 32 - 1 }), { nil: undefined }),
  })
  .map(
    (r) =>
      Object.fromEntries(
        Object.entries(r).filter(([, v]) => v !== undefined),
      ) as unknown as Prediction,
  );

test('a Prediction decodes to exactly the prediction encoded; hostile bytes fail with a CodecError', () => {
  fc.assert(
    fc.property(predictionArb, (p) => {
      assert.deepEqual(decodePrediction(encodePrediction(p)), p);
    }),
    RUNS,
  );
  const fields = Array.from({ length: 18 }, (_, i) => i + 1);
  fc.assert(
    fc.property(
      predictionArb.chain((p) => hostileAround(encodePrediction(p), fields)),
      (bytes) => void typedOutcome(() => decodePrediction(bytes), [CodecError]),
    ),
    RUNS,
  );
});

// ---- 64-bit integers and 16-bit floats ---------------------------------------------------------

test('a 64-bit field becomes its exact value when that is a safe integer, else a RangeError naming the field', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.nat({ max: 2 ** 32 - 1 }),
      fc.boolean(),
      (high, low, unsigned) => {
        const exact = unsigned
          ? (BigInt(high >>> 0) << 32n) + BigInt(low)
          : BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) + BigInt(low));
        const safe =
          exact <= BigInt(Number.MAX_SAFE_INTEGER) && exact >= -BigInt(Number.MAX_SAFE_INTEGER);
        const n = typedOutcome(
          () => int64ToNumber({ low, high, unsigned }, 'the_field'),
          [RangeError],
        );
        if (safe) assert.equal(n, Number(exact));
        else
          assert.throws(
            () => int64ToNumber({ low, high, unsigned }, 'the_field'),
            new RegExp(`the_field is ${exact}, beyond`),
          );
      },
    ),
    RUNS,
  );
});

test('every 16-bit float pattern widens to a float32 that narrows back to it (NaN stays NaN)', () => {
  for (let half = 0; half < 0x10000; half++) {
    for (const [widen, narrow, nan] of [
      [
        float16BitsToFloat32Bits,
        float32BitsToFloat16Bits,
        (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0,
      ],
      [
        bfloat16BitsToFloat32Bits,
        float32BitsToBfloat16Bits,
        (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0,
      ],
    ] as const) {
      const back = narrow(widen(half));
      if (nan(half)) assert.ok(nan(back), `NaN 0x${half.toString(16)}`);
      else assert.equal(back, half, `0x${half.toString(16)}`);
    }
  }
});
