import { closestName } from '../errors/closest-name.js';
import { renderValue } from '../errors/render-value.js';
import { InputError } from '../errors/index.js';
import {
  DEFAULT_INPUT_LIMITS,
  FLOAT32_MAX,
  jsonNestingDepth,
  limitError,
  type InputLimits,
} from './input-limits.js';
import type { StreamEvent } from './stream-event.js';

// In a /u class, a surrogate pair is one code point: only unpaired halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const FIELDS = ['key', 'token', 'features', 'source', 'target', 'label', 'eos', 'ts'] as const;
const EXAMPLE = '{"key": "sensor-7", "token": "a", "eos": false}';

/**
 * Validates one decoded record against docs/design.md §7 and returns a clean StreamEvent.
 *
 * Decisions where §5 leaves room:
 * - `key` may be a non-empty string or a safe integer; integers become their decimal string, so
 *   `{"key": 42}` and `{"key": "42"}` are the same sequence (Kafka keys are bytes anyway).
 * - `null` in an optional field means "absent" (many serialisers write nulls for missing fields).
 * - `eos` must be a real boolean; absent means false.
 * - The first problem found is reported (one InputError per record, as the line is skipped).
 * - Strings must be well-formed Unicode (no lone surrogate such as "\ud800"): a key that cannot be
 *   written as UTF-8 would turn into another key on the way through Kafka.
 * - Numbers in `features` and a vector `label` must be finite float32s (|x| <= 3.4e38): the
 *   network computes in float32, where a larger one is Infinity and poisons every gradient.
 * - A feature may be `null` (NaN in the Event protobuf): a missing reading, which becomes NaN in
 *   the StreamEvent. Only forecast models fill missing features in (shared/learner/event-encoder.ts
 *   refuses them for the other tasks). An event whose every reading is missing is still a step.
 * - Sizes are checked against `limits` (config `limits`) before anything is copied.
 */
export function parseEventObject(
  value: unknown,
  { line, limits = DEFAULT_INPUT_LIMITS }: { line?: number | undefined; limits?: InputLimits } = {},
): StreamEvent {
  const fail = (reason: string, fix: string): never => {
    throw new InputError({ line, reason, fix });
  };
  const checkText = (
    field: string,
    text: string,
    limit: 'maxKeyBytes' | 'maxTokenBytes' | 'maxLabelBytes',
  ): void => {
    // A UTF-8 byte is at least a third of a UTF-16 unit: the cheap test first.
    if (text.length > limits[limit] && Buffer.byteLength(text, 'utf8') > limits[limit])
      throw limitError({
        what: `"${field}" ${renderValue(text, { maxChars: 40 })}`,
        size: Buffer.byteLength(text, 'utf8'),
        unit: 'UTF-8 bytes',
        limit,
        limits,
        line,
      });
    if (LONE_SURROGATE.test(text))
      fail(
        `"${field}" ${renderValue(text, { maxChars: 40 })} contains a lone UTF-16 surrogate, not valid Unicode`,
        `send "${field}" as valid Unicode text (escape sequences like "\\ud800" must come in pairs)`,
      );
  };
  const checkNumbers = (
    field: string,
    list: readonly unknown[],
    limit: 'maxFeatures' | 'maxLabelValues',
    { missingAllowed = false }: { missingAllowed?: boolean } = {},
  ): void => {
    if (list.length > limits[limit])
      throw limitError({
        what: `"${field}"`,
        size: list.length,
        unit: 'numbers',
        limit,
        limits,
        line,
      });
    for (let i = 0; i < list.length; i++) {
      const x = list[i];
      if (missingAllowed && (x === null || Number.isNaN(x))) continue;
      if (typeof x !== 'number' || !Number.isFinite(x))
        fail(
          `"${field}"[${i}] is ${renderValue(x)}, not a finite number`,
          missingAllowed
            ? `send a number, or null for a missing reading, in "${field}"`
            : `send only numbers in "${field}"`,
        );
      if (Math.abs(x as number) > FLOAT32_MAX)
        fail(
          `"${field}"[${i}] is ${x}, beyond the float32 range (|x| <= 3.4e38) the network computes in`,
          `rescale "${field}" (e.g. to other units or a logarithm)`,
        );
    }
  };

  /** A pair's token list: non-empty, at most limits.maxPairTokens, each a token as in "token". */
  const pairTokens = (field: 'source' | 'target', list: unknown): Array<string | number> => {
    if (!Array.isArray(list) || list.length === 0)
      fail(
        `"${field}" is ${renderValue(list)}, not a non-empty array of tokens`,
        `send e.g. "${field}": ["a", "b"] (characters) or [17, 4] (token ids); an empty ${field} cannot be learned from`,
      );
    const tokens = list as unknown[];
    if (tokens.length > limits.maxPairTokens)
      throw limitError({
        what: `"${field}"`,
        size: tokens.length,
        unit: 'tokens',
        limit: 'maxPairTokens',
        limits,
        line,
      });
    tokens.forEach((token, i) => {
      if (typeof token === 'string' && token !== '')
        checkText(`${field}[${i}]`, token, 'maxTokenBytes');
      else if (!(typeof token === 'number' && Number.isSafeInteger(token) && token >= 0))
        fail(
          `"${field}"[${i}] is ${renderValue(token)}, not a non-empty string or a non-negative integer`,
          `send tokens as characters ("a") or token ids (17) in "${field}"`,
        );
    });
    return tokens as Array<string | number>;
  };

  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(
      `expected a JSON object, received ${renderValue(value)}`,
      `write one object per line, e.g. ${EXAMPLE}`,
    );
  }
  const record = value as Record<string, unknown>;

  const unknown = Object.keys(record).filter(
    (name) => !(FIELDS as readonly string[]).includes(name),
  );
  if (unknown.length > 0) {
    // Name (and look for near misses of) the first few only: an object may have 100,000 fields.
    const shown = unknown.slice(0, 5).map((name) => renderValue(name, { maxChars: 40 }));
    const hints = unknown
      .slice(0, 5)
      .filter((name) => name.length <= 40)
      .map((name) => [name, closestName(name, FIELDS)] as const)
      .filter(([, near]) => near !== undefined)
      .map(([name, near]) => `"${name}" -> "${near}"`);
    const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : '';
    fail(
      `unknown field${unknown.length > 1 ? 's' : ''} ${shown.join(', ')}${more}`,
      `${hints.length > 0 ? `rename ${hints.join(', ')}; ` : ''}the fields are ${FIELDS.join(', ')}`,
    );
  }

  const present = (name: (typeof FIELDS)[number]) =>
    record[name] !== undefined && record[name] !== null;

  const rawKey = record.key;
  let key: string;
  if (typeof rawKey === 'string' && rawKey !== '') {
    checkText('key', rawKey, 'maxKeyBytes');
    key = rawKey;
  } else if (typeof rawKey === 'number' && Number.isSafeInteger(rawKey)) key = String(rawKey);
  else if (!present('key'))
    return fail('missing "key"', `every event needs a sequence key, e.g. ${EXAMPLE}`);
  else {
    return fail(
      `"key" is ${renderValue(rawKey)}, not a non-empty string or an integer`,
      'use the sequence id (user, sensor, document) as a string',
    );
  }

  const event: StreamEvent = { key, eos: false };

  const inputs = (['token', 'features', 'source'] as const).filter(present);
  if (inputs.length > 1) {
    fail(
      `${inputs.length === 2 ? 'both ' : ''}${inputs.map((f) => `"${f}"`).join(' and ')} are set`,
      'send exactly one of them per event: "token", "features" or a "source"/"target" pair',
    );
  }
  if (present('target') && !present('source')) {
    fail(
      '"target" without "source"',
      'a seq2seq pair is one event {"key": .., "source": [..], "target": [..]}',
    );
  }
  if (present('token')) {
    const token = record.token;
    if (typeof token === 'string' && token !== '') {
      checkText('token', token, 'maxTokenBytes');
      event.token = token;
    } else if (typeof token === 'number' && Number.isSafeInteger(token) && token >= 0) {
      event.token = token;
    } else {
      fail(
        `"token" is ${renderValue(token)}, not a non-empty string or a non-negative integer`,
        'send a character as a string (e.g. "a") or a token id as an integer (e.g. 17)',
      );
    }
  } else if (present('features')) {
    const features = record.features;
    if (!Array.isArray(features) || features.length === 0) {
      fail(
        `"features" is ${renderValue(features)}, not a non-empty array of numbers`,
        'send e.g. "features": [0.1, 2.3]',
      );
    }
    checkNumbers('features', features as unknown[], 'maxFeatures', { missingAllowed: true });
    event.features = (features as Array<number | null>).map((x) => x ?? NaN);
  } else if (present('source')) {
    if (!present('target'))
      fail(
        '"source" without "target"',
        'a seq2seq pair is one event {"key": .., "source": [..], "target": [..]}',
      );
    // eos: false (what a StreamEvent always carries) says nothing; eos: true would close a sequence.
    for (const field of ['label', 'eos'] as const)
      if (present(field) && record[field] !== false)
        fail(
          `"${field}" is set on a seq2seq pair`,
          `a pair is complete by itself: leave "${field}" out`,
        );
    event.source = pairTokens('source', record.source);
    event.target = pairTokens('target', record.target);
  } else {
    fail(
      'neither "token" nor "features" is set (nor a "source"/"target" pair)',
      'send exactly one of them, e.g. "token": "a", "features": [0.1, 2.3] or "source": ["a"], "target": ["b"]',
    );
  }

  if (present('label')) {
    const label = record.label;
    if (typeof label === 'string' && label !== '') {
      checkText('label', label, 'maxLabelBytes');
      event.label = label;
    } else if (typeof label === 'number' && Number.isSafeInteger(label)) event.label = label;
    else if (typeof label === 'number' && Number.isFinite(label)) {
      fail(
        `"label" is ${label}, a fractional number`,
        `a class label is a string or an integer; a forecast target is an array, e.g. [${label}]`,
      );
    } else if (Array.isArray(label) && label.length > 0 && typeof label[0] === 'number') {
      checkNumbers('label', label, 'maxLabelValues');
      event.label = label as number[];
    } else {
      fail(
        `"label" is ${renderValue(label)}, not a non-empty string, an integer or a non-empty array of finite numbers`,
        'send a class as "spam" or 3, a forecast target as [0.5, 1.0], or leave "label" out',
      );
    }
  }

  if (present('eos')) {
    if (typeof record.eos !== 'boolean') {
      fail(
        `"eos" is ${renderValue(record.eos)}, not true or false`,
        'send "eos": true on the last event of a sequence, else leave it out',
      );
    }
    event.eos = record.eos as boolean;
  }

  if (present('ts')) {
    if (typeof record.ts !== 'number' || !Number.isFinite(record.ts)) {
      fail(
        `"ts" is ${renderValue(record.ts)}, not a number`,
        'send milliseconds since the epoch, e.g. 1700000000000, or leave "ts" out',
      );
    }
    event.ts = record.ts as number;
  }
  return event;
}

/**
 * Parses one JSON line (1-based `line` for messages; undefined for a message) into a StreamEvent,
 * or throws InputError. Its nesting is checked before JSON.parse builds anything; its size is the
 * reader's to check (it knows the bytes).
 */
export function parseJsonLine(
  text: string,
  line: number | undefined,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): StreamEvent {
  const depth = jsonNestingDepth(text, limits.maxJsonDepth);
  if (depth > limits.maxJsonDepth)
    throw new InputError({
      line,
      reason: `JSON nesting deeper than limits.maxJsonDepth = ${limits.maxJsonDepth}`,
      fix: `an event is one flat object with at most an array in "features" or "label"; raise limits.maxJsonDepth in the config if you must`,
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError({
      line,
      reason: `invalid JSON ${renderValue(text)}: ${(error as Error).message}`,
      fix: `write one JSON object per line, e.g. ${EXAMPLE}`,
    });
  }
  return parseEventObject(value, { line, limits });
}
