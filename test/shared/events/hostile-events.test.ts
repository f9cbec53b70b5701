import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import fc from 'fast-check';

import { InputError } from '../../../shared/errors/index.js';
import { parseJsonLine, readJsonlEvents } from '../../../shared/events/index.js';
import { DEFAULT_INPUT_LIMITS, jsonNestingDepth } from '../../../shared/events/input-limits.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import {
  hostileJsonLines,
  hostileLineArb,
  nestedArray,
  validEventArb,
} from '../../support/hostile-inputs.js';

const SEED = 20261204;
/** Generous for one record on a slow shared core; a recursion or quadratic blow-up takes far longer. */
const MAX_MS_PER_RECORD = 1000;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-hostile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function timed<T>(what: string, run: () => T): T {
  const t0 = performance.now();
  try {
    return run();
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < MAX_MS_PER_RECORD, `${what} took ${ms.toFixed(0)} ms`);
  }
}

test('valid JSON event lines decode exactly, hostile ones throw InputError and nothing else, each in bounded time', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          validEventArb.map((event) => ({ event })),
          hostileLineArb.map((line) => ({ line })),
        ),
        { minLength: 1, maxLength: 8 },
      ),
      (records) => {
        for (const record of records) {
          if ('event' in record) {
            const line = JSON.stringify(record.event);
            assert.deepEqual(
              timed('a valid line', () => parseJsonLine(line, 1)),
              record.event,
            );
          } else {
            timed('a hostile line', () =>
              assert.throws(() => parseJsonLine(record.line, 7), InputError),
            );
          }
        }
      },
    ),
    { seed: SEED, numRuns: 400 },
  );
});

test('the nesting scan counts brackets outside strings only', () => {
  assert.equal(jsonNestingDepth('{"a": "[[[[[[", "b": [1, [2]]}', 10), 3);
  assert.equal(jsonNestingDepth('{"a": "\\"[[[["}', 10), 1);
  assert.equal(jsonNestingDepth(nestedArray(1_000_000), 16), 17, 'stops at the limit');
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      const text = JSON.stringify(value);
      assert.equal(jsonNestingDepth(text, 100), depthOf(value));
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Object.values(value as object);
  return 1 + Math.max(0, ...children.map(depthOf));
}

test('each named hostile line is refused with a reason that names it, in bounded time', () => {
  const reasons: Record<string, RegExp> = {
    'a label nested 5000 deep': /limits\.maxJsonDepth = 16/,
    'a key nested 100000 deep': /limits\.maxJsonDepth/,
    'a 2 MB key': /"key" .* is 2000000 UTF-8 bytes, over limits\.maxKeyBytes = 1024/,
    'a 300 kB token string': /limits\.maxTokenBytes = 256/,
    'a 500 kB label string': /limits\.maxLabelBytes = 1024/,
    'a 100000-number label vector': /100000 numbers, over limits\.maxLabelValues = 16384/,
    'features beyond float32': /beyond the float32 range/,
    'a lone surrogate in the key': /lone UTF-16 surrogate/,
    'a token id beyond 2^53': /"token" is 100000000000000000000/,
    'a timestamp of the wrong type': /"ts" is \{"a":\[1\]\}, not a number/,
    'a 100000-field object': /unknown fields/,
    'an array, not an object': /expected a JSON object, received \[\[\[\]\]\]/,
    'a truncated line': /invalid JSON/,
  };
  for (const { name, bytes } of hostileJsonLines('k')) {
    const reason = reasons[name];
    if (reason === undefined) continue; // not text: the file reader's part (next test)
    const error = timed(name, () => {
      try {
        parseJsonLine(bytes.toString('utf8'), 3);
      } catch (e) {
        return e;
      }
      return undefined;
    });
    assert.ok(error instanceof InputError, `${name}: ${String(error)}`);
    assert.match(error.message, reason, name);
    assert.match(error.message, /^line 3: /, name);
    assert.match(error.message, /\(fix: /, name);
    assert.ok(error.message.length < 600, `${name}: the message abbreviates the value`);
  }
});

test('a file mixing hostile lines (invalid UTF-8, a 3 MB line, no final newline) with good ones yields every good event in order and one error per bad line', async () => {
  const path = join(dir, 'mixed.jsonl');
  const good: StreamEvent[] = [];
  const lines: Buffer[] = [];
  const badLines: number[] = [];
  const hostile = [
    ...hostileJsonLines('k'),
    { name: 'a 3 MB line', bytes: Buffer.alloc(3_000_000, 0x61) },
    {
      name: 'a line over the limit by one byte',
      bytes: Buffer.from(
        JSON.stringify({ key: 'k', token: 'x'.repeat(200), eos: false }).padEnd(
          DEFAULT_INPUT_LIMITS.maxEventBytes + 1,
        ),
      ),
    },
  ];
  hostile.forEach(({ bytes }, i) => {
    const event: StreamEvent = { key: `good-${i}`, token: i, eos: i % 3 === 0 };
    good.push(event);
    lines.push(Buffer.from(JSON.stringify(event)), bytes);
    badLines.push(lines.length);
  });
  lines.push(Buffer.from('{"key": "last", "token": 1}'));
  good.push({ key: 'last', token: 1, eos: false });
  await writeFile(path, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]).slice(0, -1)));

  const events: StreamEvent[] = [];
  const errors: Array<{ line: number; error: InputError }> = [];
  const t0 = performance.now();
  for await (const record of readJsonlEvents(path)) {
    if ('event' in record) events.push(record.event);
    else errors.push(record);
  }
  assert.ok(performance.now() - t0 < 20_000);
  assert.deepEqual(events, good);
  assert.deepEqual(
    errors.map((e) => e.line),
    badLines,
  );
  assert.ok(errors.every((e) => e.error instanceof InputError));
  const byName = new Map(hostile.map(({ name }, i) => [name, errors[i]!.error.message]));
  assert.match(byName.get('invalid UTF-8')!, /not valid UTF-8/);
  assert.match(byName.get('a 3 MB line')!, /3000000 bytes, over limits\.maxEventBytes = 1048576/);
  assert.match(byName.get('a line over the limit by one byte')!, /1048577 bytes/);
});

test('a file of generated hostile and valid lines yields exactly the valid events, in order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          validEventArb.map((event) => ({ event })),
          hostileLineArb.map((line) => ({ line })),
        ),
        { maxLength: 12 },
      ),
      async (records) => {
        const path = join(dir, 'generated.jsonl');
        // JSON.stringify escapes line ends inside strings; a hostile line must stay one line.
        const text = records
          .map((r) => ('event' in r ? JSON.stringify(r.event) : r.line.replace(/[\r\n]/g, ' ')))
          .join('\n');
        await writeFile(path, text);
        const events: StreamEvent[] = [];
        let errors = 0;
        for await (const record of readJsonlEvents(path)) {
          if ('event' in record) events.push(record.event);
          else errors++;
        }
        const valid = records.flatMap((r) => ('event' in r ? [r.event] : []));
        assert.deepEqual(events, valid);
        const blank = records.filter((r) => 'line' in r && r.line.trim() === '').length;
        assert.equal(errors, records.length - valid.length - blank);
      },
    ),
    { seed: SEED, numRuns: 150 },
  );
});

test('raising a limit in the config lets a larger event through', () => {
  const line = JSON.stringify({ key: 'k'.repeat(2000), token: 1 });
  assert.throws(() => parseJsonLine(line, 1), /maxKeyBytes/);
  assert.equal(
    parseJsonLine(line, 1, { ...DEFAULT_INPUT_LIMITS, maxKeyBytes: 4096 }).key.length,
    2000,
  );
});
