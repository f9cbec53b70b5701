import { InputError } from '../errors/index.js';

/**
 * Bounds on one input record (a JSON line, an events-topic message), the config section `limits`.
 * Every parser of events checks them before it does work in proportion to the record, so a
 * hostile record costs at most its own size and is rejected with the limit's name and how to
 * raise it. Defaults fit Kafka's default message size (1 MiB) with room for any sensible event.
 */
export interface InputLimits {
  /** Bytes of one JSON line or one events-topic message value. */
  readonly maxEventBytes: number;
  /** UTF-8 bytes of a sequence key. */
  readonly maxKeyBytes: number;
  /** UTF-8 bytes of a `token` string. */
  readonly maxTokenBytes: number;
  /** UTF-8 bytes of a `label` string. */
  readonly maxLabelBytes: number;
  /** Numbers in `features`. */
  readonly maxFeatures: number;
  /** Numbers in a vector `label` (a forecast target). */
  readonly maxLabelValues: number;
  /** Tokens in the `source`, and in the `target`, of one seq2seq pair event. */
  readonly maxPairTokens: number;
  /** Nesting of arrays and objects in a JSON event (a valid event has 2: object, array). */
  readonly maxJsonDepth: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = Object.freeze({
  maxEventBytes: 1_048_576,
  maxKeyBytes: 1024,
  maxTokenBytes: 256,
  maxLabelBytes: 1024,
  maxFeatures: 16_384,
  maxLabelValues: 16_384,
  maxPairTokens: 4096,
  maxJsonDepth: 16,
});

/** The largest finite float32: a feature beyond it would reach the network as Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The InputError for a record over one of the limits: the value, the limit and how to raise it. */
export function limitError({
  what,
  size,
  unit,
  limit,
  limits,
  line,
}: {
  what: string;
  size: number | string;
  unit: string;
  limit: keyof InputLimits;
  limits: InputLimits;
  line?: number | undefined;
}): InputError {
  return new InputError({
    line,
    reason: `${what} is ${size} ${unit}, over limits.${limit} = ${limits[limit]}`,
    fix: `send a smaller value, or raise limits.${limit} in the config`,
  });
}

/**
 * Whether `text` nests arrays / objects deeper than `maxDepth`, found by one scan that skips
 * strings. Run before JSON.parse, so a line of ten thousand `[` is refused without building it.
 * Returns the depth reached (up to maxDepth + 1).
 */
export function jsonNestingDepth(text: string, maxDepth: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > maxDepth) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}

/**
 * A dead letter carries the original key and value so they can be replayed; of one over its
 * limit it keeps this many leading bytes (the whole would not fit in a Kafka message either).
 */
export const DEAD_LETTER_KEEP_BYTES = 65_536;

/**
 * The original key and value of a dead letter: of one over its limit only the first
 * DEAD_LETTER_KEEP_BYTES (the dead letter itself must fit in a message), and a note for its error
 * text saying what was cut ('' when nothing was).
 */
export function deadLetterOriginal({
  key,
  value,
  limits,
}: {
  key: Uint8Array | undefined;
  value: Uint8Array | undefined;
  limits: Pick<InputLimits, 'maxKeyBytes' | 'maxEventBytes'>;
}): {
  originalKey: Uint8Array | undefined;
  originalValue: Uint8Array | undefined;
  cutNote: string;
} {
  const kept = (bytes: Uint8Array | undefined, limit: number) =>
    bytes !== undefined && bytes.length > limit
      ? bytes.subarray(0, Math.min(limit, DEAD_LETTER_KEEP_BYTES))
      : bytes;
  const cut = [
    key && key.length > limits.maxKeyBytes ? `key of ${key.length} bytes` : '',
    value && value.length > limits.maxEventBytes ? `value of ${value.length} bytes` : '',
  ].filter((x) => x !== '');
  return {
    originalKey: kept(key, limits.maxKeyBytes),
    originalValue: kept(value, limits.maxEventBytes),
    cutNote:
      cut.length === 0 ? '' : ` [original ${cut.join(' and ')}: only the first bytes are kept]`,
  };
}

/** The first `maxBytes` UTF-8 bytes of `text`, cut at a character boundary. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text.slice(0, maxBytes), 'utf8');
  if (bytes.length <= maxBytes) return bytes.toString('utf8');
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that was cut.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
