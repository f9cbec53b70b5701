import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Float32ArrayPool } from '../../../shared/codec/float32-array-pool.js';
import { decodeGradientChunk } from '../../../shared/codec/gradient-codec.js';
import { GradientIntake, type GradientRecordIn } from '../../../shared/paramserver/index.js';
import { gradientMessageRecords } from '../../../shared/paramserver-client/index.js';
import { randomTensors } from '../../support/paramserver/gradients.js';

const BIG = new Map([['w', [40, 50]]]); // 2,000 floats = 8,000 bytes: 4 chunks of 2,500 bytes

/** The chunk values of one gradient. */
const chunksOf = (workerId: string, step: number) =>
  gradientMessageRecords({
    message: {
      workerId,
      step,
      paramVersion: 0,
      tokens: 3,
      lossSum: 1,
      tensors: randomTensors(step, BIG),
    },
    maxChunkBytes: 2_500,
  }).map((r) => r.value!);

/** Records on one partition from `start`, in the given order. */
const onPartition = (partition: number, start: number, values: Uint8Array[]): GradientRecordIn[] =>
  values.map((value, i) => ({
    partition,
    offset: start + i,
    nextOffset: start + i + 1,
    value,
  }));

test('interleaved chunk sets complete with the position of their first chunk; resume offsets never pass an incomplete set', () => {
  const seen = new Set<string>();
  const intake = new GradientIntake({
    isSeen: (w, s) => seen.has(`${w}/${s}`),
    startOffsets: [
      { partition: 0, offset: 10 },
      { partition: 1, offset: 0 },
    ],
  });
  const a = chunksOf('wa', 1);
  const b = chunksOf('wb', 1);
  assert.equal(a.length, 4);
  // Partition 0: a0 b0 a1 b1 a2 a3 (a completes at 15) b2 — b still lacks b3.
  const records = onPartition(0, 10, [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, a[3]!, b[2]!]);
  const kinds = records.map((r) => intake.add(r).kind);
  assert.deepEqual(kinds, [
    'partial',
    'partial',
    'partial',
    'partial',
    'partial',
    'gradient',
    'partial',
  ]);
  assert.deepEqual(intake.resumeOffsets(), [
    { partition: 0, offset: 11 }, // b's first chunk
    { partition: 1, offset: 0 },
  ]);
  const done = intake.add({ partition: 0, offset: 17, nextOffset: 18, value: b[3]! });
  assert.equal(done.kind, 'gradient');
  assert.deepEqual(done.kind === 'gradient' && done.position, { partition: 0, offset: 11 });
  assert.deepEqual(intake.resumeOffsets(), [
    { partition: 0, offset: 18 },
    { partition: 1, offset: 0 },
  ]);
  // A gradient held elsewhere (pending in a round) also holds the resume offset back.
  assert.deepEqual(intake.resumeOffsets([{ partition: 0, offset: 11 }])[0], {
    partition: 0,
    offset: 11,
  });
});

test('chunks of a gradient already seen are skipped before reassembly, the last one marks the duplicate', () => {
  const intake = new GradientIntake({ isSeen: (w, s) => w === 'wa' && s === 1, startOffsets: [] });
  const results = onPartition(0, 0, chunksOf('wa', 1)).map((r) => intake.add(r));
  assert.deepEqual(
    results.map((r) => (r.kind === 'duplicate' ? r.lastChunk : r.kind)),
    [false, false, false, true],
  );
  assert.equal(intake.pendingBytes, 0, 'nothing was buffered');
});

test('undecodable, corrupt and duplicated chunks are reported, never thrown, and the set still completes', () => {
  const intake = new GradientIntake({ isSeen: () => false, startOffsets: [] });
  const a = chunksOf('wa', 2);
  const corrupt = Uint8Array.from(a[1]!);
  corrupt[1_000]! ^= 0xff; // inside the payload: the chunk CRC no longer matches
  assert.equal(decodeGradientChunk(corrupt).chunk.index, 1, 'still a GradientChunk');
  const results = onPartition(0, 0, [
    new TextEncoder().encode('not protobuf at all \u0000\u0001'),
    a[0]!,
    corrupt,
    a[0]!,
    a[1]!,
    a[2]!,
    a[3]!,
  ]).map((r) => intake.add(r));
  assert.deepEqual(
    results.map((r) => (r.kind === 'rejected' ? r.rejection : r.kind)),
    ['undecodable', 'partial', 'corrupt', 'duplicate', 'partial', 'partial', 'gradient'],
  );
  const rejected = results[2]!;
  assert.ok(rejected.kind === 'rejected' && /crc32/.test(rejected.error.message));
  assert.deepEqual(intake.resumeOffsets(), [{ partition: 0, offset: 7 }]);
});

test('an incomplete set dropped by age no longer holds the resume offset back', () => {
  let now = 0;
  const dropped: string[] = [];
  const intake = new GradientIntake({
    isSeen: () => false,
    startOffsets: [],
    assembler: { maxAgeMs: 1_000, now: () => now },
    onIncomplete: (d) => dropped.push(`${d.source}#${d.id}:${d.reason}:${d.missing.join(',')}`),
  });
  const a = chunksOf('wa', 3);
  intake.add({ partition: 2, offset: 5, nextOffset: 6, value: a[0]! });
  intake.add({ partition: 2, offset: 6, nextOffset: 7, value: a[1]! });
  assert.deepEqual(intake.resumeOffsets(), [{ partition: 2, offset: 5 }]);
  now = 2_000;
  intake.expire();
  assert.deepEqual(dropped, ['wa#3:expired:2,3']);
  assert.deepEqual(intake.resumeOffsets(), [{ partition: 2, offset: 7 }]);
});

test('with a pool, a released gradient’s arrays hold the next gradient, and decode to its values', () => {
  const intake = new GradientIntake({
    isSeen: () => false,
    startOffsets: [{ partition: 0, offset: 0 }],
    arrays: new Float32ArrayPool(),
  });
  const complete = (records: GradientRecordIn[]) => {
    const results = records.map((r) => intake.add(r));
    const last = results.at(-1)!;
    assert.equal(last.kind, 'gradient');
    return last.kind === 'gradient' ? last.gradient : assert.fail();
  };
  const first = complete(onPartition(0, 0, chunksOf('wa', 1)));
  const firstArray = first.tensors.get('w')!.data;
  assert.deepEqual(firstArray, randomTensors(1, BIG).get('w')!.data);
  first.release();
  assert.equal(first.tensors.size, 0, 'a released gradient no longer lends out its arrays');
  first.release(); // twice is harmless

  const second = complete(onPartition(0, 4, chunksOf('wa', 2)));
  assert.equal(second.tensors.get('w')!.data, firstArray, 'the same array, reused');
  assert.deepEqual(second.tensors.get('w')!.data, randomTensors(2, BIG).get('w')!.data);
});
