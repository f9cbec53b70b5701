import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../shared/errors/index.js';
import { parseJsonLine } from '../../../shared/events/parse-event.js';
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';
import { decodeEvent, encodeEvent } from '../../../shared/codec/event-codec.js';

/** Every JSON form of docs/design.md §7, as a producer would write it. */
const LINES = [
  '{"key": "sensor-7", "token": "a"}',
  '{"key": "sensor-7", "token": "é"}',
  '{"key": "u", "token": 17}',
  '{"key": "u", "token": 0}',
  '{"key": "u", "token": 9007199254740991}',
  '{"key": 42, "token": 3}',
  '{"key": "s", "features": [0.1, 2.3]}',
  '{"key": "s", "features": [-0, 1e-300, -3.4028234663852886e38, 5e-324, 0.30000000000000004]}',
  '{"key": "doc", "token": "x", "label": "anomaly"}',
  '{"key": "doc", "token": "x", "label": 3}',
  '{"key": "doc", "token": "x", "label": 0}',
  '{"key": "doc", "token": "x", "label": -9007199254740991}',
  '{"key": "s", "features": [1], "label": [0.5, 1.0]}',
  '{"key": "s", "features": [1], "label": [-0]}',
  '{"key": "doc", "token": "x", "label": "spam", "eos": true}',
  '{"key": "doc", "token": "x", "eos": false}',
  '{"key": "s", "features": [0.1, 2.3], "label": "anomaly", "eos": true, "ts": 1700000000000}',
  '{"key": "s", "token": 1, "ts": 0}',
  '{"key": "s", "token": 1, "ts": -1}',
  '{"key": "s", "token": 1, "ts": 1700000000000.25}',
  '{"key": "s", "token": 1, "ts": -0}',
  '{"key": "s", "token": 1, "ts": 1e300}',
  '{"key": "s", "token": 1, "ts": 9007199254740993}',
];

for (const line of LINES) {
  test(`the JSON event ${line} round-trips exactly through the Event protobuf`, () => {
    const event = parseJsonLine(line, 1);
    const decoded = decodeEvent(encodeEvent(event));
    assert.deepStrictEqual(decoded, event);
    if (event.ts !== undefined) assert.ok(Object.is(decoded.ts, event.ts));
    for (const [i, f] of (event.features ?? []).entries())
      assert.ok(Object.is(decoded.features![i], f));
  });
}

test('a string token and an integer token stay distinct on the wire', () => {
  const text = rnnstream.v1.Event.decode(encodeEvent({ key: 'k', token: '1', eos: false }));
  const id = rnnstream.v1.Event.decode(encodeEvent({ key: 'k', token: 1, eos: false }));
  assert.equal(text.token, 'tokenText');
  assert.equal(id.token, 'tokenId');
  assert.deepStrictEqual(decodeEvent(encodeEvent({ key: 'k', token: '1', eos: false })).token, '1');
  assert.deepStrictEqual(decodeEvent(encodeEvent({ key: 'k', token: 1, eos: false })).token, 1);
});

test('integer milliseconds travel in the int64 ts field, other numbers in ts_fractional', () => {
  const whole = rnnstream.v1.Event.decode(
    encodeEvent({ key: 'k', token: 1, eos: false, ts: 1700000000000 }),
  );
  assert.equal(whole.timestamp, 'ts');
  const fractional = rnnstream.v1.Event.decode(
    encodeEvent({ key: 'k', token: 1, eos: false, ts: 0.5 }),
  );
  assert.equal(fractional.timestamp, 'tsFractional');
  const none = rnnstream.v1.Event.decode(encodeEvent({ key: 'k', token: 1, eos: false }));
  assert.equal(none.timestamp, undefined);
});

const rejects = (reason: RegExp) => (e: unknown) =>
  e instanceof InputError && reason.test(e.reason);

test('corrupt Event bytes throw InputError with a dead-letter reason', () => {
  const good = encodeEvent({ key: 'sensor-7', token: 'a', eos: false });
  assert.throws(
    () => decodeEvent(good.subarray(0, good.length - 1)),
    rejects(/^not a valid Event protobuf \(\d+ bytes\): .*index out of range/),
  );
  assert.throws(
    () => decodeEvent(Uint8Array.of(0xff, 0xff, 0xff)),
    rejects(/^not a valid Event protobuf/),
  );
  // Invalid UTF-8 in the key.
  assert.throws(() => decodeEvent(Uint8Array.of(0x0a, 0x02, 0xc3, 0x28, 0x10, 0x01)), InputError);
});

test('Event messages that break the §5 rules throw InputError naming the rule', () => {
  const encode = (m: rnnstream.v1.Event.$Properties) => rnnstream.v1.Event.encode(m).finish();
  assert.throws(
    () => decodeEvent(new Uint8Array(0)),
    rejects(/^Event message: "key" is "", not a non-empty string/),
  );
  assert.throws(() => decodeEvent(encode({ key: 'k' })), rejects(/neither "token" nor "features"/));
  assert.throws(
    () => decodeEvent(encode({ key: 'k', tokenId: 1, features: [1] })),
    rejects(/both "token" and "features"/),
  );
  assert.throws(() => decodeEvent(encode({ key: 'k', tokenText: '' })), rejects(/"token" is ""/));
  assert.throws(
    () => decodeEvent(encode({ key: 'k', features: [Infinity] })),
    rejects(/"features"\[0\] is .*not a finite number/),
  );
  assert.throws(
    () => decodeEvent(encode({ key: 'k', tokenId: 1, labelVector: { values: [] } })),
    rejects(/"label"/),
  );
  assert.throws(
    () => decodeEvent(encode({ key: 'k', tokenId: 2 ** 53 + 2 })),
    rejects(/token_id is 9007199254740994, beyond the safe integer range/),
  );
  const error = (() => {
    try {
      decodeEvent(encode({ key: 'k' }));
    } catch (e) {
      return e as InputError;
    }
    throw new Error('expected a throw');
  })();
  assert.match(error.message, /\(fix: send exactly one of them/);
  assert.equal(error.retriable, false);
});

test('encoding refuses an event the JSON format would refuse', () => {
  assert.throws(() => encodeEvent({ key: '', token: 'a', eos: false }), InputError);
  assert.throws(() => encodeEvent({ key: 'k', token: -1, eos: false }), InputError);
  assert.throws(() => encodeEvent({ key: 'k', token: 'a', features: [1], eos: false }), InputError);
  assert.throws(() => encodeEvent({ key: 'k', token: 'a', label: 2.5, eos: false }), InputError);
});
