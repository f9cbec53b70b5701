import fc from 'fast-check';

import type { StreamEvent } from '../../shared/events/stream-event.js';

/**
 * Inputs that must not stop a process, shared by the property tests of the parsers and the
 * end-to-end tests (file through `run --embedded`, messages through a worker on a real broker).
 * Every valid event here is built as an object first and serialised by JSON.stringify, so the
 * reference a parser is checked against is never the parser's own output.
 */

/** A JSON array nested `depth` levels deep: `[[[…]]]`. */
export function nestedArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** Named hostile JSON event lines (one line each; the bytes of some are not UTF-8). */
export function hostileJsonLines(key: string): Array<{ name: string; bytes: Buffer }> {
  const text = (name: string, line: string) => ({ name, bytes: Buffer.from(line, 'utf8') });
  return [
    text(
      'a label nested 5000 deep',
      `{"key": "${key}", "token": 1, "label": ${nestedArray(5000)}}`,
    ),
    text('a key nested 100000 deep', `{"key": ${nestedArray(100_000)}, "token": 1}`),
    text('a 2 MB key', JSON.stringify({ key: 'k'.repeat(2_000_000), token: 1 })),
    text('a 300 kB token string', JSON.stringify({ key, token: 't'.repeat(300_000) })),
    text('a 500 kB label string', JSON.stringify({ key, token: 1, label: 'l'.repeat(500_000) })),
    text(
      'a 100000-number label vector',
      JSON.stringify({ key, token: 1, label: new Array(100_000).fill(0.5) }),
    ),
    text('features beyond float32', JSON.stringify({ key, features: [1e39, 0] })),
    text('a lone surrogate in the key', `{"key": "\\ud800${key}", "token": 1}`),
    text('a token id beyond 2^53', `{"key": "${key}", "token": 1e20}`),
    text('a timestamp of the wrong type', `{"key": "${key}", "token": 1, "ts": {"a": [1]}}`),
    text(
      'a 100000-field object',
      `{${Array.from({ length: 100_000 }, (_, i) => `"f${i}":1`).join(',')}}`,
    ),
    text('an array, not an object', nestedArray(3)),
    text('a truncated line', `{"key": "${key}", "token": `),
    {
      name: 'invalid UTF-8',
      bytes: Buffer.from([...Buffer.from(`{"key": "${key}", "token": "`), 0xc3, 0x28, 0x22, 0x7d]),
    },
    { name: 'binary junk', bytes: Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x80, 0x81, 0x22]) },
  ];
}

/** Keys of valid events: short, with spaces, non-ASCII and astral characters. */
const keyArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom('user-17', 'sensor 7', 'ключ', '🔑-1', '42'),
);

// -0 is left out: JSON writes it as 0, so it could not come back as itself.
const float32Arb = fc
  .double({ min: -3e38, max: 3e38, noNaN: true, noDefaultInfinity: true })
  .map((x) => (x === 0 ? 0 : x));

/** A valid event of any shape the contract allows, as the object a producer would serialise. */
export const validEventArb: fc.Arbitrary<StreamEvent> = fc
  .record({
    key: keyArb,
    input: fc.oneof(
      fc.integer({ min: 0, max: 1_000_000 }).map((token) => ({ token }) as const),
      fc.string({ minLength: 1, maxLength: 4 }).map((token) => ({ token }) as const),
      fc.array(float32Arb, { minLength: 1, maxLength: 6 }).map((features) => ({ features })),
    ),
    label: fc.option(
      fc.oneof(
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.array(float32Arb, { minLength: 1, maxLength: 4 }),
      ),
      { nil: undefined },
    ),
    eos: fc.boolean(),
    ts: fc.option(fc.integer({ min: 0, max: 2 ** 41 }), { nil: undefined }),
  })
  // A lone surrogate is refused on purpose; the valid ones have none.
  .filter(({ key, input, label }) =>
    [key, 'token' in input ? input.token : '', label].every(
      (s) => typeof s !== 'string' || !/[\uD800-\uDFFF]/u.test(s),
    ),
  )
  .map(({ key, input, label, eos, ts }) => {
    const event: StreamEvent = { key, eos, ...input };
    if (label !== undefined) event.label = label;
    if (ts !== undefined) event.ts = ts;
    return event;
  });

/** Text that must be refused as an event line (it may or may not be JSON). */
export const hostileLineArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .integer({ min: 17, max: 20_000 })
    .map((depth) => `{"key": "k", "token": 1, "label": ${nestedArray(depth)}}`),
  fc
    .integer({ min: 17, max: 20_000 })
    .map((depth) => `{"key": ${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}, "token": 1}`),
  fc
    .integer({ min: 1025, max: 300_000 })
    .map((n) => JSON.stringify({ key: 'k'.repeat(n), token: 1 })),
  fc
    .integer({ min: 257, max: 300_000 })
    .map((n) => JSON.stringify({ key: 'k', token: 'x'.repeat(n) })),
  fc
    .integer({ min: 16_385, max: 60_000 })
    .map((n) => JSON.stringify({ key: 'k', token: 1, label: new Array(n).fill(1) })),
  fc.double({ min: 3.5e38, noNaN: true }).map((x) => `{"key": "k", "features": [${x}]}`),
  fc
    .constantFrom('NaN', 'Infinity', '-1e400', '1e400')
    .map((x) => `{"key": "k", "features": [${x}]}`),
  fc
    .integer({ min: 0xd800, max: 0xdfff })
    .map((u) => `{"key": "\\u${u.toString(16)}k", "token": 1}`),
  fc.json().filter((text) => !/^\s*\{/.test(text)),
  fc.string({ maxLength: 200 }).filter((s) => s.trim() !== '' && !s.trim().startsWith('{')),
  fc
    .dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
    .filter((o) => !('key' in o))
    .map((o) => JSON.stringify(o)),
  fc
    .record({ key: fc.jsonValue({ maxDepth: 3 }), token: fc.jsonValue({ maxDepth: 3 }) })
    .filter(
      ({ key, token }) =>
        (typeof key !== 'string' && typeof key !== 'number') || typeof token === 'object',
    )
    .map((o) => JSON.stringify(o)),
);
