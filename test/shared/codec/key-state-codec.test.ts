import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError } from '../../../shared/codec/codec-error.js';
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';
import {
  decodeKeyState,
  encodeKeyState,
  type KeyStateRecord,
} from '../../../shared/codec/key-state-codec.js';

const tokenKey: KeyStateRecord = {
  key: 'user-17',
  state: Float32Array.of(0.25, -1 / 3, 1e-30, -0, 7),
  snapshots: [
    { position: 8, state: Float32Array.of(1, 2, 3, 4, 5) },
    { position: 12, state: Float32Array.of(-1, -2, -3, -4, -5) },
  ],
  steps: {
    inputKind: 'tokens',
    targetKind: 'class',
    featureSize: 0,
    count: 4,
    inputTokens: Int32Array.of(256, 104, 105, -7),
    classTargets: Int32Array.of(104, 105, 33, 0),
    hasLoss: Uint8Array.of(1, 1, 0, 1),
  },
  position: 14,
  pending: 2,
  closing: false,
  previousToken: 33,
  paramVersion: 9,
  inputOffset: 123_456_789_012,
  tsMs: 1_700_000_000_123,
  lastSeenMs: 1_700_000_000_100,
};

const featureKey: KeyStateRecord = {
  key: 'sensor-7',
  state: Float32Array.of(0.5, 0.25),
  snapshots: [],
  steps: {
    inputKind: 'features',
    targetKind: 'regression',
    featureSize: 2,
    count: 3,
    inputFeatures: Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
    regressionTargets: Float32Array.of(0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
    hasLoss: Uint8Array.of(1, 1, 1),
  },
  position: 3,
  pending: 3,
  closing: true,
  previousToken: 0,
  previousFeatures: Float32Array.of(0.5, 0.6),
  paramVersion: 0,
  inputOffset: -1,
  tsMs: 0,
  lastSeenMs: 0,
};

test("a token key's TBPTT state round-trips exactly through KeyState bytes", () => {
  const decoded = decodeKeyState(encodeKeyState(tokenKey));
  assert.deepStrictEqual(decoded, tokenKey);
  assert.ok(Object.is(decoded.state[3], -0));
});

test("a feature key's TBPTT state written before forecast horizons decodes with horizon 0 (one target per step)", () => {
  assert.deepStrictEqual(decodeKeyState(encodeKeyState(featureKey)), {
    ...featureKey,
    steps: { ...featureKey.steps, horizon: 0 },
  });
});

test("a forecast key's state round-trips exactly: H target vectors per step, their arrived-mask and the residual bases", () => {
  const horizonKey: KeyStateRecord = {
    ...featureKey,
    steps: {
      ...featureKey.steps,
      count: 2,
      inputFeatures: Float32Array.of(0.1, 0.2, 0.3, 0.4),
      horizon: 2,
      // step 0: both horizons arrived, feature 1 of h = 2 missing; step 1: only h = 1 so far.
      regressionTargets: Float32Array.of(0.5, -0.5, 1.5, 0, 0.25, 0.75, 0, 0),
      targetMask: Uint8Array.of(1, 1, 1, 0, 1, 1, 0, 0),
      hasLoss: Uint8Array.of(1, 1),
    },
    position: 2,
    pending: 2,
    forecast: {
      lastTarget: Float64Array.of(21.25, NaN),
      bases: Float64Array.of(20, NaN, 21.25, NaN),
    },
  };
  assert.deepStrictEqual(decodeKeyState(encodeKeyState(horizonKey)), horizonKey);
  assert.throws(
    () =>
      encodeKeyState({
        ...horizonKey,
        steps: { ...horizonKey.steps, targetMask: Uint8Array.of(1, 1) },
      }),
    /steps.targetMask has 2 entries, expected 8/,
  );
});

test('a fresh key with empty buffers round-trips', () => {
  const fresh: KeyStateRecord = {
    ...tokenKey,
    snapshots: [],
    steps: {
      inputKind: 'tokens',
      targetKind: 'class',
      featureSize: 0,
      count: 0,
      inputTokens: new Int32Array(0),
      classTargets: new Int32Array(0),
      hasLoss: new Uint8Array(0),
    },
    position: 0,
    pending: 0,
  };
  assert.deepStrictEqual(decodeKeyState(encodeKeyState(fresh)), fresh);
});

test('the state tensor is named, shaped and float32 on the wire', () => {
  const m = rnnstream.v1.KeyState.decode(encodeKeyState(tokenKey));
  assert.equal(m.state!.name, 'state');
  assert.deepEqual(m.state!.shape, [5]);
  assert.equal(m.state!.dtype, rnnstream.v1.Tensor.DType.FLOAT32);
  assert.equal(m.state!.data!.length, 20);
});

test('inconsistent step columns are refused when encoding and when decoding', () => {
  assert.throws(
    () => encodeKeyState({ ...tokenKey, steps: { ...tokenKey.steps, count: 5 } }),
    /steps.inputTokens has 4 entries, expected 5/,
  );
  assert.throws(
    () =>
      encodeKeyState({
        ...featureKey,
        steps: { ...featureKey.steps, regressionTargets: undefined },
      }),
    /steps.regressionTargets is missing/,
  );
  const bad = rnnstream.v1.KeyState.encode({
    key: 'k',
    steps: { count: 2, inputTokens: [1], classTargets: [1, 2], hasLoss: Uint8Array.of(1, 1) },
  }).finish();
  assert.throws(
    () => decodeKeyState(bad),
    (e: unknown) =>
      e instanceof CodecError &&
      /KeyState of key 'k' is inconsistent: steps.inputTokens has 1 entries, expected 2/.test(
        e.message,
      ),
  );
  assert.throws(
    () => decodeKeyState(Uint8Array.of(0x12, 0x40)),
    (e: unknown) => e instanceof CodecError && /not a valid KeyState message/.test(e.message),
  );
});

test("a bidirectional key's open segment round-trips with every step's event offset and line; bad ones are refused", () => {
  const segmentKey: KeyStateRecord = {
    ...tokenKey,
    state: new Float32Array(0),
    snapshots: [],
    steps: {
      ...tokenKey.steps,
      eventIndexes: Float64Array.of(3, 17, 2 ** 40, 9_007_199_254_740_991),
      eventLines: Float64Array.of(4, 18, 0, 1),
    },
    position: 4,
    pending: 4,
  };
  const decoded = decodeKeyState(encodeKeyState(segmentKey));
  assert.deepEqual(decoded, segmentKey);
  assert.equal(decodeKeyState(encodeKeyState(tokenKey)).steps.eventIndexes, undefined);
  for (const eventIndexes of [
    Float64Array.of(1, 2, 3),
    Float64Array.of(1, -2, 3, 4),
    Float64Array.of(1, 2.5, 3, 4),
  ])
    assert.throws(
      () => encodeKeyState({ ...segmentKey, steps: { ...segmentKey.steps, eventIndexes } }),
      /eventIndexes/,
    );
});
