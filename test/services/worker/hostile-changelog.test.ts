import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { encodeKeyState, type KeyStateRecord } from '../../../shared/codec/key-state-codec.js';
import { FeatureNormalizer } from '../../../shared/events/feature-normalizer.js';
import {
  ChangelogFold,
  normalizerRecordKey,
  progressRecordKey,
} from '../../../shared/learner/state-changelog.js';
import { hostileVariants, junkBytes, SEED, typedOutcome } from '../../support/hostile-bytes.js';

const PARTITION = 3;

/** A valid record of `key` (its values derived from `n`, so each one is recognisable). */
function record(key: string, n: number): KeyStateRecord {
  return {
    key,
    state: Float32Array.of(n, -n / 3, 0.5),
    snapshots: [{ position: n, state: Float32Array.of(1, 2, n) }],
    steps: {
      inputKind: 'tokens',
      targetKind: 'class',
      featureSize: 0,
      count: 2,
      inputTokens: Int32Array.of(n, 7),
      classTargets: Int32Array.of(7, n),
      hasLoss: Uint8Array.of(1, 0),
    },
    position: n + 2,
    pending: 1,
    closing: false,
    previousToken: 7,
    paramVersion: n,
    inputOffset: 100 + n,
    tsMs: 1_700_000_000_000 + n,
    lastSeenMs: 1_700_000_000_000 + n,
  };
}

const normalizer = new FeatureNormalizer({ featureSize: 2 }).toJSON();
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Values a changelog record could hold after damage or a foreign writer, for any key. */
const hostileValue = fc.oneof(
  junkBytes,
  hostileVariants(encodeKeyState(record('hostile', 9))),
  fc.jsonValue({ maxDepth: 3 }).map(json),
  fc.constantFrom(
    json({ ...normalizer, featureSize: 2 ** 40 }),
    json({ ...normalizer, featureSize: 2 ** 28, mean: [], m2: [] }),
    json({ ...normalizer, mean: 'x' }),
    json({ ...normalizer, varianceFloor: -1 }),
    json({ nextOffset: 'soon' }),
    json(null),
    new TextEncoder().encode('{"nextOffset":'),
  ),
);

/** Where a hostile value lands: a sequence key, or one of the partition's own system keys. */
const hostileKey = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).map((k) => `junk-${k}`),
  fc.constant(normalizerRecordKey(PARTITION)),
  fc.constant(progressRecordKey(PARTITION)),
);

test('a changelog with hostile records restores every valid key exactly and counts the rest as corrupt', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), { maxLength: 5 }),
      fc.array(fc.tuple(hostileKey, hostileValue), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 13 }),
      (names, hostile, order) => {
        const valid = names.map((name, i) => record(`key-${name}`, i + 1));
        const entries: Array<[string, Uint8Array]> = [
          ...valid.map((r): [string, Uint8Array] => [r.key, encodeKeyState(r)]),
          ...hostile,
        ];
        const ranked = entries.map((e, i) => ({ e, rank: order[i] ?? i }));
        ranked.sort((a, b) => a.rank - b.rank);
        const fold = new ChangelogFold(PARTITION);
        for (const { e } of ranked) fold.add(...e);
        const reported: string[] = [];
        const restored = typedOutcome(
          () => fold.finish((key, error) => reported.push(`${key}: ${error.message}`)),
          [],
        )!;
        assert.equal(restored.corrupt, reported.length);
        for (const r of valid)
          assert.deepEqual(
            restored.keys.find((k) => k.key === r.key),
            r,
          );
        // No hostile record is stored under its own key: each one is skipped.
        assert.equal(restored.keys.length, valid.length);
        const junkKeys = new Set(hostile.map(([k]) => k).filter((k) => k.startsWith('junk-')));
        assert.ok(restored.corrupt >= junkKeys.size);
        assert.ok(Number.isSafeInteger(restored.nextOffset));
        // A normaliser that got through can be built: it does not end the worker.
        if (restored.normalizer !== undefined)
          typedOutcome(() => FeatureNormalizer.fromJSON(restored.normalizer!), []);
      },
    ),
    { seed: SEED, numRuns: 1000 },
  );
});

test('a normaliser record claiming 2^40 features is counted as corrupt before anything is allocated for it', () => {
  const fold = new ChangelogFold(PARTITION);
  fold.add(normalizerRecordKey(PARTITION), json({ ...normalizer, featureSize: 2 ** 40 }));
  const errors: Error[] = [];
  const restored = fold.finish((_, error) => errors.push(error));
  assert.equal(restored.normalizer, undefined);
  assert.equal(restored.corrupt, 1);
  assert.match(errors[0]!.message, /normaliser record .*featureSize 1099511627776/);
  const good = new ChangelogFold(PARTITION);
  good.add(normalizerRecordKey(PARTITION), json(normalizer));
  assert.deepEqual(good.finish(() => assert.fail('no corrupt record')).normalizer, normalizer);
});

test('a progress record or key state claiming offsets beyond the events partition end is corrupt, so no event is passed over as already processed', () => {
  const fold = new ChangelogFold(PARTITION);
  const utf8 = (s: string) => new TextEncoder().encode(s);
  fold.add('good', encodeKeyState(record('good', 1))); // inputOffset 101
  fold.add('forged', encodeKeyState({ ...record('forged', 2), inputOffset: 10 ** 15 }));
  fold.add(progressRecordKey(PARTITION), utf8(JSON.stringify({ nextOffset: 10 ** 15 })));
  const corrupt: string[] = [];
  const restored = fold.finish((key) => corrupt.push(key), { eventsEndOffset: 500 });
  assert.deepEqual(
    restored.keys.map((k) => k.key),
    ['good'],
  );
  assert.deepEqual(corrupt.sort(), ['forged', progressRecordKey(PARTITION)].sort());
  assert.equal(restored.corrupt, 2);
  assert.equal(restored.nextOffset, 102, 'only the trustworthy record counts');
  // Within the end, the same records are restored as written.
  const honest = new ChangelogFold(PARTITION);
  honest.add(progressRecordKey(PARTITION), utf8(JSON.stringify({ nextOffset: 500 })));
  assert.equal(honest.finish(() => assert.fail(), { eventsEndOffset: 500 }).nextOffset, 500);
});
