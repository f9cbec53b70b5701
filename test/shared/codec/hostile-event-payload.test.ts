import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { decodeEventPayload, encodeEvent } from '../../../shared/codec/index.js';
import { InputError } from '../../../shared/errors/index.js';
import { DEFAULT_INPUT_LIMITS } from '../../../shared/events/input-limits.js';
import { parseEventObject } from '../../../shared/events/parse-event.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import { hostileLineArb, validEventArb } from '../../support/hostile-inputs.js';

const SEED = 20261204;
const utf8 = (s: string) => new TextEncoder().encode(s);

/** Decodes, returning the event or the error; fails the test on anything but InputError or on a slow call. */
function decodeOrError(bytes: Uint8Array): StreamEvent | InputError {
  const t0 = performance.now();
  try {
    return decodeEventPayload(bytes);
  } catch (error) {
    assert.ok(error instanceof InputError, `not an InputError: ${String(error)}`);
    return error;
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${bytes.length} bytes took ${ms.toFixed(0)} ms`);
  }
}

/** A protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

test('valid events decode exactly from their Event protobuf and from their JSON line', () => {
  fc.assert(
    fc.property(validEventArb, (event) => {
      assert.deepEqual(decodeOrError(encodeEvent(event)), event);
      assert.deepEqual(decodeOrError(utf8(JSON.stringify(event))), event);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('hostile JSON values are InputErrors', () => {
  fc.assert(
    fc.property(hostileLineArb, (line) => {
      // A value that is not an object is read as protobuf; either way it must be refused.
      assert.ok(decodeOrError(utf8(line)) instanceof InputError);
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('random bytes, truncated and corrupted encodings decode to a valid event or an InputError, never anything else', () => {
  const corrupted = fc
    .tuple(validEventArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }))
    .map(([event, cut, at, byte]) => {
      const bytes = encodeEvent(event);
      return [
        bytes.subarray(0, cut % (bytes.length + 1)),
        Uint8Array.from(bytes, (b, i) => (i === at % bytes.length ? byte : b)),
      ];
    });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => [b]),
        corrupted,
      ),
      (inputs) => {
        for (const bytes of inputs) {
          const result = decodeOrError(bytes);
          // Whatever decodes must be an event the JSON validator accepts as it is.
          if (!(result instanceof InputError)) assert.deepEqual(parseEventObject(result), result);
        }
      },
    ),
    { seed: SEED, numRuns: 3000 },
  );
});

test('protobuf values with deep group nesting, huge declared lengths, invalid UTF-8 strings or over-limit sizes are refused with a reason', () => {
  const key = [0x0a, 1, 0x6b]; // key = "k"
  const token = [0x18, 1]; // token_id = 1
  const cases: Array<[string, number[] | Uint8Array, RegExp]> = [
    [
      'groups nested 100000 deep',
      [...key, ...token, ...Array(100_000).fill([0xa3, 0x01]).flat()],
      /not a valid Event protobuf/,
    ],
    ['a key declaring 2^40 bytes', [0x0a, ...varint(2 ** 40), 0x6b], /not a valid Event protobuf/],
    ['a key of invalid UTF-8', [0x0a, 2, 0xc3, 0x28, ...token], /field 1 .* not valid UTF-8/],
    ['a label of invalid UTF-8', [...key, ...token, 0x2a, 1, 0xff], /field 5 .* not valid UTF-8/],
    [
      'a 2000-byte key',
      [0x0a, ...varint(2000), ...Array(2000).fill(0x6b), ...token],
      /limits\.maxKeyBytes = 1024/,
    ],
    ['a token id beyond 2^53', [...key, 0x18, ...varint(2 ** 60)], /token_id/],
    [
      'features beyond float32',
      [...key, 0x22, 8, ...new Uint8Array(new Float64Array([1e300]).buffer)],
      /float32/,
    ],
    [
      'a value over maxEventBytes',
      new Uint8Array(DEFAULT_INPUT_LIMITS.maxEventBytes + 1),
      /limits\.maxEventBytes/,
    ],
    [
      'JSON nested 100000 deep',
      utf8(`{"key": "k", "token": 1, "label": ${'['.repeat(100_000)}}`),
      /maxJsonDepth/,
    ],
    ['JSON of invalid UTF-8', Uint8Array.of(0x7b, 0x22, 0xff, 0x22), /not valid UTF-8/],
  ];
  for (const [name, bytes, reason] of cases) {
    const result = decodeOrError(Uint8Array.from(bytes));
    assert.ok(result instanceof InputError, name);
    assert.match(result.message, reason, name);
    assert.match(result.message, /\(fix: /, name);
    assert.ok(result.message.length < 600, `${name}: ${result.message.length} characters`);
  }
});
