/**
 * A seq2seq pair as one event: the JSON line and the Event protobuf carry the same source and
 * target token lists (strings and ids, mixed as given), and a bad pair is an InputError naming
 * what is wrong — in the nested token strings of the protobuf too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../shared/errors/index.js';
import { DEFAULT_INPUT_LIMITS } from '../../../shared/events/input-limits.js';
import { parseJsonLine } from '../../../shared/events/parse-event.js';
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';
import { decodeEvent, decodeEventPayload, encodeEvent } from '../../../shared/codec/event-codec.js';

const PAIRS = [
  '{"key": "w1", "source": ["c", "a", "t"], "target": ["K", "AE1", "T"]}',
  '{"key": 7, "source": [3, 1, 4], "target": [1, 5], "ts": 1700000000000}',
  '{"key": "mixed", "source": ["é", 0, "ключ"], "target": [9007199254740991]}',
];

test('a pair event reads the same from its JSON line and from its Event protobuf', () => {
  for (const line of PAIRS) {
    const event = parseJsonLine(line, 1);
    assert.ok(event.source && event.target);
    assert.deepEqual(decodeEvent(encodeEvent(event)), event);
    // The events topic takes either form.
    assert.deepEqual(decodeEventPayload(Buffer.from(line)), event);
  }
  assert.deepEqual(parseJsonLine(PAIRS[0]!, 1), {
    key: 'w1',
    eos: false,
    source: ['c', 'a', 't'],
    target: ['K', 'AE1', 'T'],
  });
});

test('bad pairs are refused with the reason and the fix', () => {
  const rejects = (line: string, reason: RegExp) =>
    assert.throws(
      () => parseJsonLine(line, 3),
      (e: unknown) => e instanceof InputError && reason.test(e.message) && /fix: /.test(e.message),
    );
  rejects('{"key": "k", "source": [], "target": [1]}', /"source" is \[\], not a non-empty array/);
  rejects('{"key": "k", "source": [1], "target": "ab"}', /"target" is "ab", not a non-empty array/);
  rejects('{"key": "k", "source": [1, -2], "target": [1]}', /"source"\[1\] is -2/);
  rejects('{"key": "k", "source": [1, ""], "target": [1]}', /"source"\[1\] is ""/);
  rejects('{"key": "k", "target": [1]}', /"target" without "source"/);
  rejects('{"key": "k", "source": [1]}', /"source" without "target"/);
  rejects('{"key": "k", "token": 1, "source": [1], "target": [1]}', /both "token" and "source"/);
  rejects(
    '{"key": "k", "source": [1], "target": [1], "label": "x"}',
    /"label" is set on a seq2seq pair/,
  );
  const tooMany = JSON.stringify({
    key: 'k',
    source: Array.from({ length: DEFAULT_INPUT_LIMITS.maxPairTokens + 1 }, () => 1),
    target: [1],
  });
  rejects(tooMany, /"source" is 4097 tokens, over limits\.maxPairTokens = 4096/);
});

test('invalid UTF-8 in a token of a protobuf pair is refused, not decoded into other characters', () => {
  const bytes = rnnstream.v1.Event.encode({
    key: 'k',
    source: { tokens: [{ text: 'ab' }] },
    target: { tokens: [{ id: 1 }] },
  }).finish();
  const at = Buffer.from(bytes).indexOf(Buffer.from('ab'));
  const broken = Uint8Array.from(bytes);
  broken[at] = 0xff;
  assert.throws(
    () => decodeEvent(broken),
    (e: unknown) =>
      e instanceof InputError && /field 11\.1\.1 \(a string\) is not valid UTF-8/.test(e.message),
  );
  // A token with neither text nor id is an empty token, which the parser refuses.
  const empty = rnnstream.v1.Event.encode({
    key: 'k',
    source: { tokens: [{}] },
    target: { tokens: [{ id: 1 }] },
  }).finish();
  assert.throws(() => decodeEvent(empty), /"source"\[0\] is ""/);
});
