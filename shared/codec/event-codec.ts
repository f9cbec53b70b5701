import { InputError } from '../errors/index.js';
import { parseEventObject } from '../events/parse-event.js';
import type { StreamEvent } from '../events/stream-event.js';
import { rnnstream } from './generated/rnnstream.js';
import { int64ToNumber } from './int64.js';

const FIX =
  'produce events with `rnnstream produce` or encode the rnnstream.v1.Event message of proto/rnnstream.proto';

/**
 * The Event message for a StreamEvent (DESIGN.md §5, field for field). The event is validated
 * exactly as a JSON line is (parseEventObject), so what goes on the wire always decodes again;
 * an invalid event throws InputError.
 *
 * - token: a string → token_text; a non-negative integer → token_id.
 * - label: a string → label_text; an integer → label_id; a number array → label_vector.
 * - ts: a safe integer → ts (int64 ms); any other finite number (fractional, -0, beyond 2^53)
 *   → ts_fractional, so the decoded value is identical.
 */
export function eventToMessage(event: StreamEvent): rnnstream.v1.Event.$Properties {
  const valid = parseEventObject(event);
  const message: rnnstream.v1.Event.$Properties = { key: valid.key };
  if (typeof valid.token === 'string') message.tokenText = valid.token;
  else if (typeof valid.token === 'number') message.tokenId = valid.token;
  if (valid.features !== undefined) message.features = valid.features;
  if (typeof valid.label === 'string') message.labelText = valid.label;
  else if (typeof valid.label === 'number') message.labelId = valid.label;
  else if (Array.isArray(valid.label)) message.labelVector = { values: valid.label };
  if (valid.eos) message.eos = true;
  if (valid.ts !== undefined) {
    if (Number.isSafeInteger(valid.ts) && !Object.is(valid.ts, -0)) message.ts = valid.ts;
    else message.tsFractional = valid.ts;
  }
  return message;
}

/** Encodes a StreamEvent as Event protobuf bytes (see eventToMessage). */
export function encodeEvent(event: StreamEvent): Uint8Array {
  return rnnstream.v1.Event.encode(eventToMessage(event)).finish();
}

/**
 * The StreamEvent of an Event message, validated like a JSON line. Throws InputError (its
 * `reason` suits the dead-letter topic) for a message that breaks DESIGN.md §5, e.g. no key, both
 * or neither of token / features, an empty label vector, non-finite features.
 */
export function messageToEvent(message: rnnstream.v1.Event): StreamEvent {
  const record: Record<string, unknown> = { key: message.key };
  try {
    if (message.token === 'tokenText') record.token = message.tokenText;
    else if (message.token === 'tokenId') record.token = int64ToNumber(message.tokenId, 'token_id');
    if (message.features.length > 0) record.features = message.features;
    if (message.label === 'labelText') record.label = message.labelText;
    else if (message.label === 'labelId') record.label = int64ToNumber(message.labelId, 'label_id');
    else if (message.label === 'labelVector') record.label = message.labelVector?.values ?? [];
    if (message.eos) record.eos = true;
    if (message.timestamp === 'ts') record.ts = int64ToNumber(message.ts, 'ts');
    else if (message.timestamp === 'tsFractional') record.ts = message.tsFractional;
  } catch (error) {
    throw new InputError({ reason: `Event message: ${(error as Error).message}`, fix: FIX });
  }
  try {
    return parseEventObject(record);
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
export function decodeEvent(bytes: Uint8Array): StreamEvent {
  let message: rnnstream.v1.Event;
  try {
    message = rnnstream.v1.Event.decode(bytes);
  } catch (error) {
    throw new InputError({
      reason: `not a valid Event protobuf (${bytes.length} bytes): ${(error as Error).message}`,
      fix: FIX,
    });
  }
  return messageToEvent(message);
}

const OPEN_BRACE = 0x7b;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * An events-topic value: the Event protobuf, or a JSON event line (DESIGN.md §5) for producers
 * that write JSON. A value whose first non-blank byte is `{` is JSON — an Event protobuf never
 * starts that way (0x7b would be field 15 with the deprecated group wire type). Throws InputError.
 */
export function decodeEventPayload(bytes: Uint8Array): StreamEvent {
  let i = 0;
  while (i < bytes.length && WHITESPACE.has(bytes[i]!)) i++;
  if (bytes[i] !== OPEN_BRACE) return decodeEvent(bytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError({
      reason: `JSON event value is not valid UTF-8 (${bytes.length} bytes)`,
      fix: 'write JSON event values in UTF-8, or produce with `rnnstream produce`',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError({
      reason: `invalid JSON event value ${JSON.stringify(text.slice(0, 80))}: ${(error as Error).message}`,
      fix: 'write one JSON object per message, e.g. {"key": "k1", "token": "a"}, or produce with `rnnstream produce`',
    });
  }
  return parseEventObject(value);
}
