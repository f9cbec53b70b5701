import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import fc from 'fast-check';

import { crc32 } from '../../../shared/codec/crc32.js';
import { ShapeError } from '../../../shared/errors/index.js';
import type { ModelSpec } from '../../../shared/model/model-spec.js';
import {
  checkpointSlotPaths,
  createCheckpointStore,
  readCheckpoint,
  writeCheckpoint,
  type InvalidCheckpointSlot,
  type ParamserverCheckpoint,
} from '../../../shared/paramserver/index.js';
import {
  float32,
  hostileVariants,
  junkBytes,
  SEED,
  typedOutcomeAsync,
} from '../../support/hostile-bytes.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ps-hostile-ckpt-'));
  dirs.push(dir);
  return dir;
};

const MODEL = 'm1';
// Every run writes and reads files: fewer runs than the in-memory decoders get.
const RUNS = { seed: SEED, numRuns: 500 };
const safeInt = fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 });
const safeCount = fc.nat({ max: 2 ** 53 - 1 });
/** Object keys as JSON round-trips them (no '__proto__', which JSON.parse makes an own key). */
const jsonKey = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
const plainObject = <T>(values: fc.Arbitrary<T>) =>
  fc.dictionary(jsonKey, values, { maxKeys: 4 }).map((d) => ({ ...d }));

/** Any checkpoint the writer can be given, with values that survive JSON exactly. */
const checkpointArb: fc.Arbitrary<ParamserverCheckpoint> = fc
  .record({
    spec: plainObject(
      fc.oneof(fc.string({ maxLength: 8 }), safeInt, fc.boolean(), fc.constant(null)),
    ),
    version: safeCount,
    scheduleStep: safeCount,
    params: fc.uniqueArray(
      fc.tuple(
        fc.string({ unit: 'binary', maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
      ),
      { selector: ([name]) => name, maxLength: 4 },
    ),
    type: fc.constantFrom<'adam' | 'sgd'>('adam', 'sgd'),
    step: safeCount,
    slots: fc.uniqueArray(
      fc.tuple(fc.string({ unit: 'binary', maxLength: 10 }), fc.nat({ max: 8 })),
      { selector: ([key]) => key, maxLength: 4 },
    ),
    progress: plainObject(
      fc
        .record({ highest: safeInt, recent: fc.array(safeInt, { maxLength: 4 }) })
        .map((w) => ({ ...w })),
    ),
    lastSeenMs: plainObject(safeInt),
    gradientOffsets: fc.array(
      fc.record({ partition: fc.nat({ max: 100 }), offset: safeInt }).map((g) => ({ ...g })),
      { maxLength: 3 },
    ),
    writtenAtMs: safeInt,
  })
  .chain((r) => {
    const floats = (n: number) =>
      fc.array(float32, { minLength: n, maxLength: n }).map((v) => Float32Array.from(v));
    return fc
      .tuple(
        fc.tuple(...r.params.map(([, shape]) => floats(shape.reduce((a, b) => a * b, 1)))),
        fc.tuple(...r.slots.map(([, length]) => floats(length))),
      )
      .map(([values, slotValues]): ParamserverCheckpoint => ({
        modelId: MODEL,
        spec: r.spec as unknown as ModelSpec,
        version: r.version,
        scheduleStep: r.scheduleStep,
        params: r.params.map(([name, shape], i) => ({ name, shape, values: values[i]! })),
        optimizer: {
          type: r.type,
          step: r.step,
          slots: new Map(r.slots.map(([key], i) => [key, slotValues[i]!])),
        },
        progress: r.progress,
        lastSeenMs: r.lastSeenMs,
        gradientOffsets: r.gradientOffsets,
        writtenAtMs: r.writtenAtMs,
      }));
  });

test('a checkpoint reads back exactly as it was written', async () => {
  const dir = await tempDir();
  const [a, b] = checkpointSlotPaths(dir, MODEL);
  await fc.assert(
    fc.asyncProperty(checkpointArb, async (checkpoint) => {
      await rm(a, { force: true });
      await rm(b, { force: true });
      await writeCheckpoint(dir, checkpoint);
      assert.deepEqual(await readCheckpoint(dir, MODEL), checkpoint);
    }),
    { ...RUNS, numRuns: 150 },
  );
});

// ---- hostile slots -----------------------------------------------------------------------------

/** A format-2 slot as the writer lays it out, with a valid CRC over whatever it is given. */
function sealedSlot({
  header,
  body,
  sequence = 2n,
  length,
  headerLength,
}: {
  header: string;
  body: Uint8Array;
  sequence?: bigint;
  length?: bigint;
  headerLength?: number;
}): Buffer {
  const headerBytes = Buffer.from(header, 'utf8');
  const out = Buffer.concat([Buffer.alloc(40), headerBytes, body]);
  out.write('RNNSTREAM-CKPT-2', 0, 'ascii');
  out.writeBigUInt64LE(sequence, 16);
  out.writeBigUInt64LE(length ?? BigInt(out.length), 24);
  out.writeUInt32LE(headerLength ?? headerBytes.length, 32);
  out.writeUInt32LE(crc32(out.subarray(40), crc32(out.subarray(0, 36))), 36);
  return out;
}

/** The header (as JSON) and tensor bytes of a slot file. */
function slotParts(bytes: Buffer): { header: Record<string, unknown>; body: Uint8Array } {
  const headerLength = bytes.readUInt32LE(32);
  return {
    header: JSON.parse(bytes.toString('utf8', 40, 40 + headerLength)) as Record<string, unknown>,
    body: bytes.subarray(40 + headerLength),
  };
}

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** A header change's JSON text: `raw` where JSON.stringify would recurse too deep. */
const headerText = (header: unknown) =>
  (header as { raw?: string } | null)?.raw ?? JSON.stringify(header);

/** Header changes no writer makes: each must get the slot passed over. */
const badHeaders: Array<[string, (h: Record<string, unknown>) => unknown]> = [
  ['params is a number', (h) => ({ ...h, params: 5 })],
  ['params has an entry without a name', (h) => ({ ...h, params: [{}] })],
  ['a negative dimension', (h) => ({ ...h, params: [{ name: 'w', shape: [-1, -4] }] })],
  ['a dimension of 2^53', (h) => ({ ...h, params: [{ name: 'w', shape: [2 ** 53, 2] }] })],
  ['a shape that is a string', (h) => ({ ...h, params: [{ name: 'w', shape: '2x2' }] })],
  [
    'two parameters of one name',
    (h) => ({ ...h, params: [...(h.params as []), ...(h.params as [])] }),
  ],
  ['optimizer is null', (h) => ({ ...h, optimizer: null })],
  [
    'an unknown optimizer',
    (h) => ({ ...h, optimizer: { ...(h.optimizer as object), type: 'rmsprop' } }),
  ],
  [
    'a slot of length 2^60',
    (h) => ({ ...h, optimizer: { type: 'adam', step: 1, slots: [{ key: 'k', length: 2 ** 60 }] } }),
  ],
  [
    'a slot of negative length',
    (h) => ({ ...h, optimizer: { type: 'sgd', step: 1, slots: [{ key: 'k', length: -1 }] } }),
  ],
  ['spec is null', (h) => ({ ...h, spec: null })],
  [
    'spec nested 20,000 deep',
    (h) => ({
      raw: JSON.stringify({ ...h, spec: '@' }).replace('"@"', `{"cell":${deep(20_000)}}`),
    }),
  ],
  ['version is negative', (h) => ({ ...h, version: -1 })],
  ['version is a string', (h) => ({ ...h, version: '3' })],
  ['version is 2^60', (h) => ({ ...h, version: 2 ** 60 })],
  ['scheduleStep is 1.5', (h) => ({ ...h, scheduleStep: 1.5 })],
  ['progress is null', (h) => ({ ...h, progress: null })],
  ['a worker progress without steps', (h) => ({ ...h, progress: { w: { highest: 'x' } } })],
  [
    'a worker progress processed at no time',
    (h) => ({ ...h, progress: { w: { highest: 1, recent: [1], processedAtMs: 'noon' } } }),
  ],
  ['lastSeenMs holds a string', (h) => ({ ...h, lastSeenMs: { w: 'yesterday' } })],
  ['gradientOffsets is an object', (h) => ({ ...h, gradientOffsets: {} })],
  ['a negative partition', (h) => ({ ...h, gradientOffsets: [{ partition: -1, offset: 0 }] })],
  ['writtenAtMs is missing', (h) => ({ ...h, writtenAtMs: undefined })],
  ['another model id', (h) => ({ ...h, modelId: 'someone-else' })],
  ['modelId is a number', (h) => ({ ...h, modelId: 5 })],
  ['another magic', (h) => ({ ...h, magic: 'RNNSTREAM-CKPT-1' })],
  ['the header is a list', () => []],
  ['the header is null', () => null],
];

/** A second slot that is not a complete checkpoint, however it got that way. */
function hostileSlot(valid: Buffer): fc.Arbitrary<Buffer> {
  const { header, body } = slotParts(valid);
  const json = JSON.stringify(header) + '\n';
  return fc.oneof(
    junkBytes.map((b) => Buffer.from(b)),
    // Torn, flipped or spliced without a new CRC.
    hostileVariants(valid).map((b) => Buffer.from(b)),
    fc
      .constantFrom(...badHeaders)
      .map(([, change]) => sealedSlot({ header: headerText(change(header)) + '\n', body })),
    fc
      .constantFrom('not json\n', deep(20_000), '"a string"\n', '')
      .map((h) => sealedSlot({ header: h, body })),
    // The tensors do not fill the file as the header says.
    fc
      .uint8Array({ minLength: 1, maxLength: 12 })
      .map((extra) => sealedSlot({ header: json, body: Buffer.concat([body, extra]) })),
    fc
      .nat({ max: Math.max(0, body.length - 1) })
      .map((n) => sealedSlot({ header: json, body: body.subarray(0, n) })),
    // Preamble fields no writer makes.
    fc
      .constantFrom(2n ** 53n + 2n, 2n ** 64n - 1n)
      .map((sequence) => sealedSlot({ header: json, body, sequence })),
    fc
      .constantFrom(2 ** 32 - 1, json.length + body.length + 1)
      .map((headerLength) => sealedSlot({ header: json, body, headerLength })),
    fc.constantFrom(0n, 2n ** 64n - 1n).map((length) => sealedSlot({ header: json, body, length })),
  );
}

/** Two fixed checkpoints: version 1 (slot a, the older) and version 2 (slot b, the newer). */
async function twoSlots(): Promise<{
  dir: string;
  a: string;
  b: string;
  first: ParamserverCheckpoint;
  aBytes: Buffer;
  bBytes: Buffer;
}> {
  const dir = await tempDir();
  const [a, b] = checkpointSlotPaths(dir, MODEL);
  const checkpoint = (version: number): ParamserverCheckpoint => ({
    modelId: MODEL,
    spec: { cell: 'lstm', hidden: 2 } as unknown as ModelSpec,
    version,
    scheduleStep: version,
    params: [
      { name: 'w', shape: [2, 2], values: Float32Array.of(1, -0, 3.5, version) },
      { name: 'b', shape: [2], values: Float32Array.of(0.25, -7) },
    ],
    optimizer: {
      type: 'adam',
      step: version,
      slots: new Map([['w/m', Float32Array.of(1, 2, 3, 4)]]),
    },
    progress: { w1: { highest: version, recent: [version] } },
    lastSeenMs: { w1: 1000 + version },
    gradientOffsets: [{ partition: 0, offset: 10 * version }],
    writtenAtMs: 5000 + version,
  });
  const first = checkpoint(1);
  await writeCheckpoint(dir, first);
  await writeCheckpoint(dir, checkpoint(2));
  return { dir, a, b, first, aBytes: await readFile(a), bBytes: await readFile(b) };
}

test('a torn or junk newer slot is passed over for the older complete one, which reads back exactly', async () => {
  const { dir, a, b, first, aBytes, bBytes } = await twoSlots();
  await writeFile(a, aBytes); // reading never changes it
  await fc.assert(
    fc.asyncProperty(hostileSlot(bBytes), async (junk) => {
      await writeFile(b, junk);
      const passedOver: InvalidCheckpointSlot[] = [];
      const store = createCheckpointStore({
        directory: dir,
        modelId: MODEL,
        onInvalidSlot: (slot) => passedOver.push(slot),
      });
      const loaded = await typedOutcomeAsync(() => store.read(), []);
      assert.deepEqual(loaded, first);
      assert.equal(passedOver.length, 1);
      assert.equal(passedOver[0]!.path, b);
      assert.ok(passedOver[0]!.reason.length < 300, passedOver[0]!.reason);
    }),
    RUNS,
  );
  // The next write goes over the passed-over slot, with the next sequence.
  await writeFile(
    b,
    sealedSlot({ header: '{}\n', body: new Uint8Array(0), sequence: 2n ** 64n - 1n }),
  );
  const store = createCheckpointStore({ directory: dir, modelId: MODEL });
  assert.equal((await store.write({ ...first, version: 3 })).path, b);
  assert.equal((await readCheckpoint(dir, MODEL))?.version, 3);
});

test('a header no writer makes is passed over with the reason', async () => {
  const { dir, a, b, first, aBytes, bBytes } = await twoSlots();
  const { header, body } = slotParts(bBytes);
  for (const [what, change] of badHeaders) {
    await writeFile(a, aBytes);
    await writeFile(b, sealedSlot({ header: headerText(change(header)) + '\n', body }));
    const passedOver: InvalidCheckpointSlot[] = [];
    const loaded = await readCheckpoint(dir, MODEL, (slot) => passedOver.push(slot));
    assert.deepEqual(loaded, first, what);
    assert.match(passedOver[0]?.reason ?? '', /header|model id/, what);
  }
});

test('when no slot holds a complete checkpoint, reading is a ShapeError naming both files and the fix', async () => {
  const { dir, a, b, bBytes } = await twoSlots();
  await fc.assert(
    fc.asyncProperty(hostileSlot(bBytes), hostileSlot(bBytes), async (junkA, junkB) => {
      await writeFile(a, junkA);
      await writeFile(b, junkB);
      await typedOutcomeAsync(
        () =>
          assert.rejects(
            readCheckpoint(dir, MODEL),
            (e) =>
              e instanceof ShapeError &&
              e.message.includes(a) &&
              e.message.includes(b) &&
              /fix: /.test(e.message) &&
              e.message.length < 2000,
          ),
        [],
      );
    }),
    RUNS,
  );
});
