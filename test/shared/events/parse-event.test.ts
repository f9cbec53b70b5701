import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InputError } from '../../../shared/errors/index.js';
import { parseEventObject, parseJsonLine } from '../../../shared/events/index.js';

/** Asserts that parsing throws an InputError for `line` whose reason and message match. */
function rejects(text: string, line: number, reason: RegExp, fix?: RegExp): void {
  assert.throws(
    () => parseJsonLine(text, line),
    (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.line, line);
      assert.match(error.reason, reason);
      assert.ok(error.message.startsWith(`line ${line}: `), error.message);
      assert.match(error.message, fix ?? /\(fix: .+\)$/);
      return true;
    },
  );
}

test('a full token event is parsed with every field', () => {
  assert.deepEqual(
    parseJsonLine(
      '{"key": "sensor-7", "token": "a", "label": "anomaly", "eos": true, "ts": 1700000000000}',
      1,
    ),
    { key: 'sensor-7', token: 'a', label: 'anomaly', eos: true, ts: 1700000000000 },
  );
});

test('a features event with a forecast target is parsed and eos defaults to false', () => {
  assert.deepEqual(parseJsonLine('{"key": "s", "features": [0.1, 2.3], "label": [0.5, 1.0]}', 2), {
    key: 's',
    features: [0.1, 2.3],
    label: [0.5, 1],
    eos: false,
  });
});

test('a numeric key is accepted as its decimal string', () => {
  assert.equal(parseJsonLine('{"key": 42, "token": 17}', 1).key, '42');
});

test('null optional fields count as absent', () => {
  assert.deepEqual(
    parseJsonLine('{"key": "k", "token": 3, "features": null, "label": null, "ts": null}', 1),
    {
      key: 'k',
      token: 3,
      eos: false,
    },
  );
});

test('bad JSON is rejected with its line number, the text and the parser message', () => {
  rejects(
    '{"key": "k", "token": "a"',
    7,
    /^invalid JSON "\{\\"key\\": \\"k\\", \\"token\\": \\"a\\"": /,
    /write one JSON object per line/,
  );
});

test('a line that is not an object is rejected', () => {
  rejects('[1, 2]', 3, /expected a JSON object, received \[1,2\]/);
});

test('a missing key is rejected', () => {
  rejects('{"token": "a"}', 4, /^missing "key"$/, /every event needs a sequence key/);
  rejects('{"key": "", "token": "a"}', 4, /"key" is "", not a non-empty string or an integer/);
  rejects('{"key": 1.5, "token": "a"}', 4, /"key" is 1.5/);
});

test('both token and features is rejected', () => {
  rejects(
    '{"key": "k", "token": "a", "features": [1]}',
    5,
    /both "token" and "features" are set/,
    /exactly one of them/,
  );
});

test('neither token nor features is rejected', () => {
  rejects('{"key": "k", "label": "x"}', 6, /neither "token" nor "features" is set/);
});

test('an unknown field is rejected by name, with the closest field suggested', () => {
  rejects(
    '{"key": "k", "token": "a", "lable": "x", "color": 1}',
    8,
    /unknown fields "lable", "color"/,
    /rename "lable" -> "label"; the fields are key, token, features, source, target, label, eos, ts/,
  );
});

test('a negative or fractional token is rejected', () => {
  rejects(
    '{"key": "k", "token": -1}',
    1,
    /"token" is -1, not a non-empty string or a non-negative integer/,
  );
  rejects('{"key": "k", "token": 2.5}', 1, /"token" is 2.5/);
  rejects('{"key": "k", "token": ""}', 1, /"token" is ""/);
});

test('features must be a non-empty array of finite numbers or nulls', () => {
  rejects(
    '{"key": "k", "features": []}',
    1,
    /"features" is \[\], not a non-empty array of numbers/,
  );
  rejects('{"key": "k", "features": [1, "2"]}', 1, /"features"\[1\] is "2", not a finite number/);
  assert.throws(
    () => parseEventObject({ key: 'k', features: [1, Number.POSITIVE_INFINITY] }, { line: 9 }),
    /line 9: "features"\[1\] is Infinity, not a finite number/,
  );
});

test('a null feature is a missing reading: NaN in the event (the Event protobuf carries NaN the same way)', () => {
  const event = parseEventObject({ key: 'k', features: [21.3, null] });
  assert.equal(event.features![0], 21.3);
  assert.ok(Number.isNaN(event.features![1]));
  const fromProtobuf = parseEventObject({ key: 'k', features: [Number.NaN, 4] });
  assert.ok(Number.isNaN(fromProtobuf.features![0]));
  // Every reading missing is still a step of the sequence.
  assert.equal(parseEventObject({ key: 'k', features: [null, null] }).features!.length, 2);
  // A vector label (a forecast target) has no missing values.
  assert.throws(
    () => parseEventObject({ key: 'k', features: [1], label: [null] }),
    /"label" is \[null\]/,
  );
});

test('a fractional label is rejected with a hint to use an array for a forecast target', () => {
  rejects(
    '{"key": "k", "token": 1, "label": 0.5}',
    1,
    /"label" is 0.5, a fractional number/,
    /forecast target is an array, e.g. \[0.5\]/,
  );
  rejects(
    '{"key": "k", "token": 1, "label": {"a": 1}}',
    1,
    /"label" is \{"a":1\}, not a non-empty string/,
  );
});

test('eos must be a boolean and ts a number', () => {
  rejects('{"key": "k", "token": 1, "eos": "yes"}', 1, /"eos" is "yes", not true or false/);
  rejects('{"key": "k", "token": 1, "ts": "today"}', 1, /"ts" is "today", not a number/);
});

test('parseEventObject without a line number gives a message without a line prefix', () => {
  assert.throws(
    () => parseEventObject({ token: 'a' }),
    (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.line, undefined);
      assert.match(error.message, /^missing "key"/);
      return true;
    },
  );
});
