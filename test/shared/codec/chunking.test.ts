import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChunkAssembler,
  ChunkError,
  DEFAULT_MAX_CHUNK_BYTES,
  splitPayload,
  type DroppedChunkSet,
  type PayloadChunk,
} from '../../../shared/codec/chunking.js';
import { crc32, crc32Combine, crc32Table } from '../../../shared/codec/crc32.js';

function payloadOf(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) bytes[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return bytes;
}

function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const isChunkError = (kind: string, pattern: RegExp) => (e: unknown) =>
  e instanceof ChunkError && e.kind === kind && pattern.test(e.message);

test('crc32 matches the standard check value and continues across pieces', () => {
  const text = new TextEncoder().encode('123456789');
  assert.equal(crc32(text), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(text.subarray(4), crc32(text.subarray(0, 4))), 0xcbf43926);
  assert.equal(crc32Table(text), 0xcbf43926);
  assert.equal(crc32Table(text.subarray(4), crc32Table(text.subarray(0, 4))), 0xcbf43926);
});

test('the native crc32 and the table fallback agree on random bytes, whole and continued', () => {
  const bytes = new Uint8Array(100_003);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  assert.equal(crc32(bytes), crc32Table(bytes));
  assert.equal(crc32(bytes.subarray(777), crc32(bytes.subarray(0, 777))), crc32Table(bytes));
});

test('crc32Combine gives the checksum of a concatenation from its parts’ checksums and lengths', () => {
  const bytes = new Uint8Array(1_000_003);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  for (const cut of [0, 1, 7, 4096, 65_537, 900_000, bytes.length]) {
    const a = bytes.subarray(0, cut);
    const b = bytes.subarray(cut);
    assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32Table(bytes), `cut at ${cut}`);
  }
  // Folding chunk by chunk, as an assembler does.
  let whole = 0;
  for (let start = 0; start < bytes.length; start += 300_000) {
    const chunk = bytes.subarray(start, start + 300_000);
    whole = crc32Combine(whole, crc32(chunk), chunk.length);
  }
  assert.equal(whole, crc32(bytes));
});

test('a payload splits into chunks of at most maxChunkBytes that carry the whole header', () => {
  const payload = payloadOf(2500);
  const chunks = splitPayload(payload, { maxChunkBytes: 1000 });
  assert.deepEqual(
    chunks.map((c) => c.data.length),
    [1000, 1000, 500],
  );
  for (const [i, c] of chunks.entries()) {
    assert.equal(c.index, i);
    assert.equal(c.count, 3);
    assert.equal(c.totalBytes, 2500);
    assert.equal(c.checksum, crc32(payload));
    assert.equal(c.chunkChecksum, crc32(c.data));
  }
  assert.equal(splitPayload(new Uint8Array(0)).length, 1, 'an empty payload is one empty chunk');
  assert.equal(splitPayload(payloadOf(DEFAULT_MAX_CHUNK_BYTES)).length, 1);
  assert.equal(splitPayload(payloadOf(DEFAULT_MAX_CHUNK_BYTES + 1)).length, 2);
  assert.throws(() => splitPayload(payload, { maxChunkBytes: 0 }), RangeError);
});

test('the assembler returns each payload once its chunks arrive in any order, interleaved across sets', () => {
  const a = payloadOf(5000, 1);
  const b = payloadOf(3333, 2);
  const arrivals = shuffled([
    ...splitPayload(a, { maxChunkBytes: 700 }).map((c) => ['w1', 1, c] as const),
    ...splitPayload(b, { maxChunkBytes: 700 }).map((c) => ['w2', 1, c] as const),
  ]);
  const assembler = new ChunkAssembler();
  const done = new Map<string, Uint8Array>();
  for (const [source, id, chunk] of arrivals) {
    const payload = assembler.add(source, id, chunk);
    if (payload) done.set(source, payload);
  }
  assert.deepEqual(done.get('w1'), a);
  assert.deepEqual(done.get('w2'), b);
  assert.equal(assembler.stats.completed, 2);
  assert.equal(assembler.stats.pendingSets, 0);
  assert.equal(assembler.stats.pendingBytes, 0);
});

test('a missing chunk is reported with its index when the incomplete set expires, and counted', () => {
  let now = 1000;
  const reported: DroppedChunkSet[] = [];
  const assembler = new ChunkAssembler({
    maxAgeMs: 30_000,
    now: () => now,
    onDrop: (d) => reported.push(d),
  });
  const chunks = splitPayload(payloadOf(4000), { maxChunkBytes: 1000 });
  for (const c of chunks)
    if (c.index !== 2) assert.equal(assembler.add('worker-1', 42, c), undefined);
  assert.deepEqual(assembler.missing('worker-1', 42), [2]);
  now += 30_000;
  assert.deepEqual(assembler.expire(), [], 'not older than maxAgeMs yet');
  now += 1;
  const dropped = assembler.expire();
  assert.equal(dropped.length, 1);
  const [d] = dropped;
  assert.deepEqual(
    {
      source: d!.source,
      id: d!.id,
      reason: d!.reason,
      missing: d!.missing,
      received: d!.received,
      count: d!.count,
      ageMs: d!.ageMs,
    },
    {
      source: 'worker-1',
      id: '42',
      reason: 'expired',
      missing: [2],
      received: 3,
      count: 4,
      ageMs: 30_001,
    },
  );
  assert.ok(
    isChunkError(
      'missing',
      /worker-1#42: set dropped, incomplete after 30001 ms.*missing chunk 2 of 4/,
    )(d!.error),
    d!.error.message,
  );
  assert.deepEqual(reported, dropped);
  assert.equal(assembler.stats.droppedExpired, 1);
  assert.equal(assembler.stats.pendingSets, 0);
  assert.equal(assembler.stats.pendingBytes, 0);
  assert.equal(assembler.missing('worker-1', 42), undefined);
});

test('stale sets are also dropped lazily when other chunks arrive', () => {
  let now = 0;
  const assembler = new ChunkAssembler({ maxAgeMs: 100, now: () => now });
  const [first] = splitPayload(payloadOf(300), { maxChunkBytes: 100 });
  assembler.add('w', 1, first!);
  now = 500;
  const other = splitPayload(payloadOf(10), { maxChunkBytes: 100 });
  assert.ok(assembler.add('w', 2, other[0]!));
  assert.equal(assembler.stats.droppedExpired, 1);
  assert.equal(assembler.stats.pendingSets, 0);
});

test('a corrupt chunk is rejected with its index and does not disturb its set', () => {
  const payload = payloadOf(3000);
  const chunks = splitPayload(payload, { maxChunkBytes: 1000 });
  const assembler = new ChunkAssembler();
  assembler.add('w', 7, chunks[0]!);
  const flipped = new Uint8Array(chunks[1]!.data);
  flipped[10]! ^= 0x01;
  const corrupt: PayloadChunk = { ...chunks[1]!, data: flipped };
  assert.throws(
    () => assembler.add('w', 7, corrupt),
    isChunkError('corrupt', /corrupt chunk 1 of w#7: data crc32 0x[0-9a-f]{8} does not match/),
  );
  assert.equal(assembler.stats.corrupt, 1);
  assert.deepEqual(assembler.missing('w', 7), [1, 2]);
  assert.equal(assembler.add('w', 7, chunks[2]!), undefined);
  assert.deepEqual(
    assembler.add('w', 7, chunks[1]!),
    payload,
    'the good chunk still completes the set',
  );
});

test('a payload whose assembled checksum is wrong is reported as corrupt', () => {
  const chunks = splitPayload(payloadOf(200), { maxChunkBytes: 100 });
  const assembler = new ChunkAssembler();
  const lie = (c: PayloadChunk): PayloadChunk => ({ ...c, checksum: (c.checksum ^ 1) >>> 0 });
  assembler.add('w', 1, lie(chunks[0]!));
  assert.throws(
    () => assembler.add('w', 1, lie(chunks[1]!)),
    isChunkError('corrupt', /assembled payload crc32 .* does not match/),
  );
  assert.equal(assembler.stats.pendingSets, 0);
});

test('a duplicate chunk is reported, whether its set is pending or already complete', () => {
  const payload = payloadOf(2000);
  const chunks = splitPayload(payload, { maxChunkBytes: 1000 });
  const assembler = new ChunkAssembler();
  assembler.add('w', 3, chunks[0]!);
  assert.throws(
    () => assembler.add('w', 3, chunks[0]!),
    isChunkError('duplicate', /chunk 0 of w#3: chunk 0 of 2 arrived twice$/),
  );
  const other: PayloadChunk = {
    ...chunks[0]!,
    data: new Uint8Array(1000),
    chunkChecksum: crc32(new Uint8Array(1000)),
  };
  assert.throws(
    () => assembler.add('w', 3, other),
    isChunkError('duplicate', /arrived twice with different content/),
  );
  assert.deepEqual(assembler.add('w', 3, chunks[1]!), payload);
  assert.throws(
    () => assembler.add('w', 3, chunks[1]!),
    isChunkError('duplicate', /already completed/),
  );
  assert.equal(assembler.stats.duplicates, 3);
  assert.equal(assembler.stats.completed, 1);
});

test('chunks whose header disagrees with their set, or that cannot belong to any set, are rejected', () => {
  const chunks = splitPayload(payloadOf(2000), { maxChunkBytes: 1000 });
  const assembler = new ChunkAssembler({ maxPendingBytes: 10_000 });
  assembler.add('w', 1, chunks[0]!, 'param version 3');
  assert.throws(
    () => assembler.add('w', 1, chunks[1]!, 'param version 4'),
    isChunkError(
      'mismatch',
      /param version 4 but earlier chunks of the set said .*param version 3/,
    ),
  );
  assert.throws(
    () => assembler.add('w', 1, { ...chunks[1]!, count: 3 }),
    isChunkError('mismatch', /count 3/),
  );
  assert.throws(
    () => assembler.add('w', 2, { ...chunks[0]!, index: 2 }),
    isChunkError('invalid', /index 2 is not in \[0, count\) with count 2/),
  );
  assert.throws(
    () => assembler.add('w', 2, { ...chunks[0]!, totalBytes: 999 }),
    isChunkError('invalid', /do not fit/),
  );
  assert.throws(
    () => assembler.add('w', 2, { ...chunks[0]!, totalBytes: 20_000 }),
    isChunkError('invalid', /exceeds the assembler's limit/),
  );
  assert.equal(assembler.stats.mismatched, 2);
  assert.equal(assembler.stats.invalid, 3);
});

test('memory is bounded: the oldest incomplete sets are dropped beyond maxPendingBytes', () => {
  const dropped: DroppedChunkSet[] = [];
  const assembler = new ChunkAssembler({ maxPendingBytes: 2500, onDrop: (d) => dropped.push(d) });
  for (let id = 0; id < 4; id++) {
    const [first] = splitPayload(payloadOf(2000, id + 1), { maxChunkBytes: 1000 });
    assembler.add('w', id, first!);
  }
  assert.deepEqual(
    dropped.map((d) => [d.id, d.reason, d.missing]),
    [
      ['0', 'memory', [1]],
      ['1', 'memory', [1]],
    ],
  );
  assert.equal(assembler.stats.droppedMemory, 2);
  assert.equal(assembler.stats.pendingSets, 2);
  assert.ok(assembler.stats.pendingBytes <= 2500);
});
