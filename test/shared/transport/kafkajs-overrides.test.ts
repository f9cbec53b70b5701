import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

import {
  allocateWithFramingRoom,
  encodeOutgoingRecords,
  FRAMING_HEADROOM_BYTES,
  FRAMING_TAILROOM_BYTES,
  framingRoom,
} from '../../../shared/transport/kafka/framing-room.js';
import {
  EXPECTED_KAFKAJS_VERSION,
  groupMessagesPerPartition,
  KAFKAJS_MISMATCH_FIX,
  kafkajsInternalsMismatch,
  kafkajsOverrides,
  responseAssembly,
} from '../../../shared/transport/kafka/kafkajs.js';

const require = createRequire(import.meta.url);
const KAFKAJS_DIR = path.dirname(require.resolve('kafkajs/package.json'));
const KAFKAJS_SRC = path.join(KAFKAJS_DIR, 'src');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

test('kafkajs is the exact release whose internals the replacements reproduce, and all of them are in place', () => {
  const mismatch = kafkajsInternalsMismatch();
  assert.deepEqual(
    mismatch,
    [],
    `the kafkajs internals our replacements patch are not the expected ones, so kafkajs runs its own slow code: ${mismatch.join('; ')} ${KAFKAJS_MISMATCH_FIX}`,
  );
  const { dependencies } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.equal(dependencies.kafkajs, EXPECTED_KAFKAJS_VERSION, 'package.json pins it, no range');
  for (const [name, result] of Object.entries({ ...kafkajsOverrides, responseAssembly }))
    assert.equal(
      result.implementation,
      'replaced',
      `${name}: kafkajs keeps its own (${'reason' in result ? result.reason : ''})`,
    );
});

test('a kafkajs with other internals is found out file by file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rnnstream-kafkajs-'));
  try {
    cpSync(KAFKAJS_DIR, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as object;
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ ...manifest, version: '2.2.5' }),
    );
    appendFileSync(path.join(dir, 'src/network/connection.js'), '\n// patched\n');
    rmSync(path.join(dir, 'src/producer/groupMessagesPerPartition.js'));
    const mismatch = kafkajsInternalsMismatch(dir);
    assert.equal(mismatch.length, 3, mismatch.join('\n'));
    assert.match(mismatch[0]!, /kafkajs 2\.2\.5 is installed, not 2\.2\.4/);
    assert.ok(
      mismatch.some((line) =>
        line.startsWith('kafkajs has no src/producer/groupMessagesPerPartition.js'),
      ),
    );
    assert.ok(
      mismatch.some((line) => line.startsWith("src/network/connection.js is not kafkajs 2.2.4's")),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** kafkajs' own byte-at-a-time CRC-32C (reflected Castagnoli polynomial), the reference. */
function tableCrc32c(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0x82f63b78 ^ (crc >>> 1) : crc >>> 1;
  }
  return ~crc >>> 0;
}

/**
 * A kafkajs source file evaluated on its own, bypassing the require cache (the original). Its
 * own requires resolve as in kafkajs, so they get the modules kafkajs gets.
 */
function originalKafkajsModule(file: string): unknown {
  const filename = path.join(KAFKAJS_SRC, file);
  const module = { exports: {} as unknown };
  vm.runInThisContext(
    `(function (module, exports, require) {${readFileSync(filename, 'utf8')}\n})`,
  )(module, module.exports, createRequire(filename));
  return module.exports;
}

interface EncodedRequest {
  encode(): Promise<{ buffer: Buffer }>;
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
}
type ProduceRequestFactory = (args: Record<string, unknown>) => EncodedRequest;

/** With Date.now fixed, as kafkajs stamps records without a timestamp with it. */
async function atFixedTime<T>(nowMs: number, run: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => nowMs;
  try {
    return await run();
  } finally {
    Date.now = realNow;
  }
}

/** Produce arguments covering what the encoder branches on: strings, buffers, nulls, headers, timestamps, varint widths. */
function produceArgs(): Array<Record<string, unknown>> {
  const Long = require(path.join(KAFKAJS_SRC, 'utils/long.js')) as {
    fromValue(v: unknown): unknown;
  };
  const messages = Array.from({ length: 300 }, (_, i) => ({
    key: i % 7 === 0 ? null : i % 2 ? `key-${i}-é` : Buffer.from(`bkey-${i}`),
    value:
      i % 5 === 0
        ? `value ${i} ✓`
        : randomBytes([0, 1, 63, 64, 127, 128, 8191, 8192, 16384][i % 9]!),
    ...(i % 3 === 0
      ? { headers: { one: 'x', many: ['a', Buffer.from([1, 2, 3])], empty: '' } }
      : {}),
  }));
  const stamped = messages.slice(0, 40).map((m, i) => ({
    ...m,
    timestamp: i % 2 ? 1_700_000_000_000 + i * 1_000 : String(1_700_000_000_000 - i * 5_000_000),
  }));
  const topicData = [
    {
      topic: 'orders',
      partitions: [
        { partition: 0, firstSequence: 17, messages },
        { partition: 3, messages: stamped },
      ],
    },
    {
      topic: 'état',
      partitions: [{ partition: 1, messages: [{ value: Buffer.alloc(1_000_000, 7) }] }],
    },
  ];
  return [
    { acks: -1, timeout: 30_000, topicData },
    { acks: -1, timeout: 30_000, producerId: -1, producerEpoch: 0, topicData },
    { acks: 1, timeout: 30_000, producerId: '9007199254740993', transactionalId: null, topicData },
    {
      acks: -1,
      timeout: 5_000,
      transactionalId: 'worker-7',
      producerId: Long.fromValue(4_000_000_123),
      producerEpoch: 3,
      topicData,
    },
    { acks: 1, timeout: 100, compression: 1, topicData: topicData.slice(0, 1) },
  ];
}

test('kafkajs record batches are checksummed by the native CRC-32C, with the values of its own', () => {
  assert.deepEqual(kafkajsOverrides.crc32c, { implementation: 'replaced' });
  const recordBatchCrc = require(
    path.join(KAFKAJS_SRC, 'protocol/recordBatch/crc32C/index.js'),
  ) as (buffer: Buffer) => number;
  assert.equal(recordBatchCrc(Buffer.from('123456789')), 0xe3069283); // the standard check value
  for (const size of [0, 1, 7, 8, 4096, 100_003]) {
    const bytes = randomBytes(size);
    assert.equal(recordBatchCrc(bytes), tableCrc32c(bytes), `${size} bytes`);
    assert.equal(recordBatchCrc(bytes.subarray(3)), tableCrc32c(bytes.subarray(3)));
  }
});

test('kafkajs groups a send by partition in linear time, with the groups its own code makes', () => {
  assert.deepEqual(kafkajsOverrides.groupMessagesPerPartition, { implementation: 'replaced' });
  const original = originalKafkajsModule('producer/groupMessagesPerPartition.js') as (
    options: Parameters<typeof groupMessagesPerPartition>[0],
  ) => Record<number, unknown[]>;
  const partitionMetadata = [0, 1, 2, 3, 4].map((partitionId) => ({ partitionId }));
  const messages = Array.from({ length: 2_000 }, (_, i) => ({ key: `k${(i * 7919) % 97}`, i }));
  const partitioner = ({ message }: { message: unknown }) =>
    Number((message as { key: string }).key.slice(1)) % 5;
  const options = { topic: 't', partitionMetadata, messages, partitioner };
  assert.deepEqual(groupMessagesPerPartition(options), original(options));
  assert.deepEqual(groupMessagesPerPartition({ ...options, partitionMetadata: [] }), {});
  const inUse = require(path.join(KAFKAJS_SRC, 'producer/groupMessagesPerPartition.js')) as unknown;
  assert.equal(inUse, groupMessagesPerPartition, 'kafkajs requires the replacement');
});

test('kafkajs produce requests are written in one pass, byte for byte as its own encoder writes them', async () => {
  assert.deepEqual(kafkajsOverrides.produceRequest, { implementation: 'replaced' });
  const original = originalKafkajsModule(
    'protocol/requests/produce/v3/request.js',
  ) as ProduceRequestFactory;
  // What kafkajs calls for a broker speaking v7: its v7 request wraps the (replaced) v3.
  const inUse = require(
    path.join(KAFKAJS_SRC, 'protocol/requests/produce/v7/request.js'),
  ) as ProduceRequestFactory;
  for (const args of produceArgs()) {
    const expected = await atFixedTime(1_700_000_123_456, () => original(args).encode());
    const actual = await atFixedTime(1_700_000_123_456, () => inUse(args).encode());
    assert.equal(actual.buffer.length, expected.buffer.length);
    assert.ok(
      actual.buffer.equals(expected.buffer),
      `same bytes for ${JSON.stringify(Object.keys(args))}`,
    );
    assert.equal(inUse(args).expectResponse(), original(args).expectResponse());
  }
  assert.equal(inUse({ acks: 0, timeout: 1, topicData: [] }).expectResponse(), false);
});

test('kafkajs frames every request with one copy of its payload, byte for byte as its own framing', async () => {
  assert.deepEqual(kafkajsOverrides.requestFrame, { implementation: 'replaced' });
  const original = originalKafkajsModule('protocol/request.js') as (
    args: Record<string, unknown>,
  ) => Promise<{ buffer: Buffer }>;
  const inUse = require(path.join(KAFKAJS_SRC, 'protocol/request.js')) as typeof original;
  const produce = originalKafkajsModule(
    'protocol/requests/produce/v3/request.js',
  ) as ProduceRequestFactory;
  for (const clientId of ['rnnstream-worker-ü', null]) {
    const request = produce(produceArgs()[1]!);
    const payload = await request.encode();
    const fixed = { ...request, encode: async () => payload };
    const expected = await original({ correlationId: 123_456, clientId, request: fixed });
    const actual = await inUse({ correlationId: 123_456, clientId, request: fixed });
    assert.ok(actual.buffer.equals(expected.buffer), `same frame for client id ${clientId}`);
  }
});

/**
 * One v7 produce request framed twice: by kafkajs' own v3 body and framing (the expected bytes),
 * and by the replacements in use; `payload` is what the in-use produce request encoded.
 */
async function frameProduceBothWays(
  args: Record<string, unknown>,
  clientId: string | null,
): Promise<{
  expected: Buffer;
  actual: { buffer: Buffer; buf: Buffer };
  payload: { buf: Buffer };
}> {
  const originalFrame = originalKafkajsModule('protocol/request.js') as (
    args: Record<string, unknown>,
  ) => Promise<{ buffer: Buffer }>;
  const originalProduce = originalKafkajsModule(
    'protocol/requests/produce/v3/request.js',
  ) as ProduceRequestFactory;
  const inUseFrame = require(path.join(KAFKAJS_SRC, 'protocol/request.js')) as (
    args: Record<string, unknown>,
  ) => Promise<{ buffer: Buffer; buf: Buffer }>;
  const inUseProduce = require(
    path.join(KAFKAJS_SRC, 'protocol/requests/produce/v7/request.js'),
  ) as (args: Record<string, unknown>) => { encode(): Promise<{ buf: Buffer; offset: number }> };
  const expected = await originalFrame({
    correlationId: 77,
    clientId,
    request: { ...originalProduce(args), apiVersion: 7 }, // kafkajs' v7 is its v3 body
  });
  const request = inUseProduce(args);
  const payload = await request.encode();
  const actual = await inUseFrame({
    correlationId: 77,
    clientId,
    request: { ...request, encode: async () => payload },
  });
  return { expected: expected.buffer, actual, payload };
}

test('a large produce request is framed in the room left before its payload, byte for byte as kafkajs frames it', async () => {
  // One 900 KB chunk, as a gradient or a parameter version is sent.
  const args = {
    acks: -1,
    timeout: 30_000,
    transactionalId: 'rnnstream.paramserver',
    producerId: 7,
    producerEpoch: 1,
    topicData: [
      {
        topic: 'app.params',
        partitions: [
          {
            partition: 0,
            firstSequence: 3,
            messages: [
              { key: Buffer.from('m'), value: randomBytes(900_000), timestamp: 1_700_000_000_000 },
            ],
          },
        ],
      },
    ],
  };
  for (const clientId of ['rnnstream-paramserver', 'x'.repeat(300), null]) {
    const { expected, actual, payload } = await frameProduceBothWays(args, clientId);
    assert.ok(actual.buffer.equals(expected), `same frame for client id ${clientId}`);
    assert.equal(
      actual.buf.buffer === payload.buf.buffer,
      clientId !== 'x'.repeat(300),
      'framed in place unless the client id does not fit the room',
    );
  }
});

test('a lone record value with framing room becomes its produce request in place, byte for byte as kafkajs writes it', async () => {
  const framed = (bytes: Buffer) => {
    const view = allocateWithFramingRoom(bytes.length);
    view.set(bytes);
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  };
  const chunk = randomBytes(900_000);
  const argsWith = (
    messages: Array<Record<string, unknown>>,
    partitions = [{ partition: 2, firstSequence: 5, messages }],
  ) => ({
    acks: -1,
    timeout: 30_000,
    transactionalId: 'rnnstream.app.paramserver.default',
    producerId: 9,
    producerEpoch: 2,
    topicData: [{ topic: 'app.gradients', partitions }],
  });
  const lone = { key: Buffer.from('worker-1'), value: framed(chunk), timestamp: 1_700_000_000_000 };
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['a lone framed value', argsWith([lone]), true],
    [
      'a lone framed value with headers',
      argsWith([{ ...lone, headers: { 'content-type': 'gradient', trace: ['a', 'b'] } }]),
      true,
    ],
    ['two framed values', argsWith([lone, { ...lone, value: framed(chunk.subarray(7)) }]), false],
    ['a value without framing room', argsWith([{ ...lone, value: Buffer.from(chunk) }]), false],
    [
      'a topic name longer than the room',
      {
        ...argsWith([lone]),
        topicData: [{ topic: 't'.repeat(1_100), partitions: [{ partition: 0, messages: [lone] }] }],
      },
      false,
    ],
  ];
  for (const [label, args, inPlace] of cases) {
    const before = Buffer.from((lone.value as Buffer).buffer.slice(0)); // the room's bytes too
    const { expected, actual } = await frameProduceBothWays(args, 'rnnstream-worker');
    assert.ok(actual.buffer.equals(expected), `same bytes for ${label}`);
    const value = (
      args.topicData as Array<{ partitions: Array<{ messages: Array<{ value: Buffer }> }> }>
    )[0]!.partitions[0]!.messages[0]!.value;
    assert.equal(actual.buf.buffer === value.buffer, inPlace, `${label}: in place`);
    assert.ok(value.equals(chunk), `${label}: the value itself is unchanged`);
    if (!inPlace)
      assert.ok(
        Buffer.from((lone.value as Buffer).buffer).equals(before),
        `${label}: nothing around the value written`,
      );
  }
});

test('records of encodeOutgoingRecords have framing room, so a lone one is produced in place', () => {
  const records = encodeOutgoingRecords({
    keyOf: (index) => `k${index}`,
    encodeValues: (allocate) => [allocate(10), allocate(900_000)],
  });
  assert.deepEqual(
    records.map((r) => r.key),
    ['k0', 'k1'],
  );
  for (const { value } of records)
    assert.deepEqual(framingRoom(value!), {
      before: FRAMING_HEADROOM_BYTES,
      after: FRAMING_TAILROOM_BYTES,
    });
});
