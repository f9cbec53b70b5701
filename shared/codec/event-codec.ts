import { isUtf8 } from 'node:buffer';

import { InputError } from '../errors/index.js';
import { DEFAULT_INPUT_LIMITS, limitError, type InputLimits } from '../events/input-limits.js';
import { parseEventObject, parseJsonLine } from '../events/parse-event.js';
import type { StreamEvent } from '../events/stream-event.js';
import { rnnstream } from './generated/rnnstream.js';
import { int64ToNumber } from './int64.js';

const FIX =
  'produce events with `rnnstream produce` or encode the rnnstream.v1.Event message of proto/rnnstream.proto';

/**
 * The Event message for a StreamEvent (docs/design.md §7, field for field). The event is validated
 * exactly as a JSON line is (parseEventObject), so what goes on the wire always decodes again;
 * an invalid event throws InputError.
 *
 * - token: a string → token_text; a non-negative integer → token_id.
 * - label: a string → label_text; an integer → label_id; a number array → label_vector.
 * - ts: a safe integer → ts (int64 ms); any other finite number (fractional, -0, beyond 2^53)
 *   → ts_fractional, so the decoded value is identical.
 */
export function eventToMessage(
  event: StreamEvent,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): rnnstream.v1.Event.$Properties {
  const valid = parseEventObject(event, { limits });
  const message: rnnstream.v1.Event.$Properties = { key: valid.key };
  if (typeof valid.token === 'string') message.tokenText = valid.token;
  else if (typeof valid.token === 'number') message.tokenId = valid.token;
  if (valid.features !== undefined) message.features = valid.features;
  if (typeof valid.label === 'string') message.labelText = valid.label;
  else if (typeof valid.label === 'number') message.labelId = valid.label;
  else if (Array.isArray(valid.label)) message.labelVector = { values: valid.label };
  if (valid.eos) message.eos = true;
  if (valid.source !== undefined) message.source = tokenList(valid.source);
  if (valid.target !== undefined) message.target = tokenList(valid.target);
  if (valid.ts !== undefined) {
    if (Number.isSafeInteger(valid.ts) && !Object.is(valid.ts, -0)) message.ts = valid.ts;
    else message.tsFractional = valid.ts;
  }
  return message;
}

/** Encodes a StreamEvent as Event protobuf bytes (see eventToMessage). */
export function encodeEvent(
  event: StreamEvent,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): Uint8Array {
  return rnnstream.v1.Event.encode(eventToMessage(event, limits)).finish();
}

/**
 * The StreamEvent of an Event message, validated like a JSON line. Throws InputError (its
 * `reason` suits the dead-letter topic) for a message that breaks docs/design.md §7, e.g. no key, both
 * or neither of token / features, an empty label vector, non-finite features.
 */
export function messageToEvent(
  message: rnnstream.v1.Event,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): StreamEvent {
  const record: Record<string, unknown> = { key: message.key };
  try {
    if (message.token === 'tokenText') record.token = message.tokenText;
    else if (message.token === 'tokenId') record.token = int64ToNumber(message.tokenId, 'token_id');
    if (message.features.length > 0) record.features = message.features;
    if (message.label === 'labelText') record.label = message.labelText;
    else if (message.label === 'labelId') record.label = int64ToNumber(message.labelId, 'label_id');
    else if (message.label === 'labelVector') record.label = message.labelVector?.values ?? [];
    if (message.eos) record.eos = true;
    if (message.source) record.source = pairTokens(message.source, 'source');
    if (message.target) record.target = pairTokens(message.target, 'target');
    if (message.timestamp === 'ts') record.ts = int64ToNumber(message.ts, 'ts');
    else if (message.timestamp === 'tsFractional') record.ts = message.tsFractional;
  } catch (error) {
    throw new InputError({ reason: `Event message: ${(error as Error).message}`, fix: FIX });
  }
  try {
    return parseEventObject(record, { limits });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    // Keep the JSON validator's specific fix (it ends the message as " (fix: …)").
    const fix = /\(fix: (.*)\)$/s.exec(error.message.slice(error.reason.length))?.[1] ?? FIX;
    throw new InputError({ reason: `Event message: ${error.reason}`, fix });
  }
}

/**
 * Decodes Event protobuf bytes into a StreamEvent. Corrupt bytes (truncated, wrong wire types,
 * invalid UTF-8) and invalid events throw InputError with a reason for the dead-letter topic.
 */
export function decodeEvent(
  bytes: Uint8Array,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): StreamEvent {
  let message: rnnstream.v1.Event;
  try {
    // protobufjs decodes invalid UTF-8 into other characters without a word: check first.
    const field = invalidUtf8Field(bytes);
    if (field !== undefined) throw new Error(`field ${field} (a string) is not valid UTF-8`);
    message = rnnstream.v1.Event.decode(bytes);
  } catch (error) {
    throw new InputError({
      reason: `not a valid Event protobuf (${bytes.length} bytes): ${(error as Error).message}`,
      fix: FIX,
    });
  }
  return messageToEvent(message, limits);
}

export function tokenList(
  tokens: ReadonlyArray<string | number>,
): rnnstream.v1.TokenList.$Properties {
  return { tokens: tokens.map((t) => (typeof t === 'string' ? { text: t } : { id: t })) };
}

/** A decoded TokenList's tokens; one with neither text nor id becomes '' (the parser refuses it). */
export function pairTokens(
  list: rnnstream.v1.TokenList.$Properties,
  field: string,
): Array<string | number> {
  // Decoded messages say which member of the oneof is set (unset members read as defaults).
  return ((list as rnnstream.v1.TokenList).tokens ?? []).map((t, i) =>
    t.value === 'text'
      ? (t.text ?? '')
      : t.value === 'id'
        ? int64ToNumber(t.id, `${field}[${i}].id`)
        : '',
  );
}

/** Where an Event's strings are: its own fields, and those of the messages in its fields. */
interface StringFields {
  readonly strings: ReadonlySet<number>;
  readonly messages: ReadonlyMap<number, StringFields>;
}
const PAIR_TOKEN: StringFields = { strings: new Set([1]), messages: new Map() };
const TOKEN_LIST: StringFields = { strings: new Set(), messages: new Map([[1, PAIR_TOKEN]]) };
/** key, token_text, label_text; the tokens of source and target. */
const EVENT_STRINGS: StringFields = {
  strings: new Set([1, 2, 5]),
  messages: new Map([
    [11, TOKEN_LIST],
    [12, TOKEN_LIST],
  ]),
};

/**
 * The number of the first string field of an Event whose bytes are not UTF-8 (nested fields
 * named by their path, e.g. "11.1.1"), or undefined. Stops quietly at anything malformed:
 * decoding then reports it.
 */
function invalidUtf8Field(
  bytes: Uint8Array,
  fields: StringFields = EVENT_STRINGS,
): string | undefined {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64 && pos < bytes.length; shift += 7) {
      const b = bytes[pos++]!;
      if (shift < 49) value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return -1;
  };
  while (pos < bytes.length) {
    const key = varint();
    if (key < 0) return undefined;
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        if (varint() < 0) return undefined;
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const length = varint();
        if (length < 0 || pos + length > bytes.length) return undefined;
        const value = bytes.subarray(pos, pos + length);
        if (fields.strings.has(field) && !isUtf8(value)) return String(field);
        const nested = fields.messages.get(field);
        const inner = nested && invalidUtf8Field(value, nested);
        if (inner !== undefined) return `${field}.${inner}`;
        pos += length;
        break;
      }
      default:
        return undefined;
    }
  }
  return undefined;
}

const OPEN_BRACE = 0x7b;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * An events-topic value: the Event protobuf, or a JSON event line (docs/design.md §7) for producers
 * that write JSON. A value whose first non-blank byte is `{` is JSON — an Event protobuf never
 * starts that way (0x7b would be field 15 with the deprecated group wire type). Both are held to
 * `limits` (size first, before any decoding). Throws InputError.
 */
export function decodeEventPayload(
  bytes: Uint8Array,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): StreamEvent {
  if (bytes.length > limits.maxEventBytes)
    throw limitError({
      what: 'the message value',
      size: bytes.length,
      unit: 'bytes',
      limit: 'maxEventBytes',
      limits,
    });
  let i = 0;
  while (i < bytes.length && WHITESPACE.has(bytes[i]!)) i++;
  if (bytes[i] !== OPEN_BRACE) return decodeEvent(bytes, limits);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError({
      reason: `JSON event value is not valid UTF-8 (${bytes.length} bytes)`,
      fix: 'write JSON event values in UTF-8, or produce with `rnnstream produce`',
    });
  }
  return parseJsonLine(text, undefined, limits);
}
