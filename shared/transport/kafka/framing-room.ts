/**
 * Record values allocated with free bytes around them, so that a produce request carrying one of
 * them alone is written around it in place: the request, record batch and record headers before
 * the value, the record's header count after it, the frame header before all that. A 900 KB
 * chunk of a gradient or a parameter version then reaches the socket without being copied into
 * a request buffer, and without that buffer's allocation (BENCHMARKS.md, "Parameter service rounds").
 *
 * Only buffers from allocateWithFramingRoom() are written around, so no one else's bytes are
 * touched. Such a value must not be in two produce requests at the same time (the paramserver's
 * and the workers' chunk records never are: each is sent once, retried only after a failure).
 *
 * Outside this folder the technique is reached through encodeOutgoingRecords only: callers say
 * how to encode, the transport says where the bytes go.
 */
import type { OutgoingRecord } from './kafka-messages.js';

/** Room before a value: frame header with client id, request with transactional id and topic name, batch and record headers. */
export const FRAMING_HEADROOM_BYTES = 1024;
/** Room after a value: the record's headers. */
export const FRAMING_TAILROOM_BYTES = 256;

const withRoom = new WeakSet<ArrayBufferLike>();

/** `bytes` bytes (not zeroed) with framing room before and after them in their ArrayBuffer. */
export function allocateWithFramingRoom(bytes: number): Uint8Array {
  // Not zeroed, and an ArrayBuffer of its own (never a slice of Node's shared pool).
  const { buffer } = Buffer.allocUnsafeSlow(
    FRAMING_HEADROOM_BYTES + bytes + FRAMING_TAILROOM_BYTES,
  );
  withRoom.add(buffer);
  return new Uint8Array(buffer, FRAMING_HEADROOM_BYTES, bytes);
}

/** The free bytes before and after `view` if it came from allocateWithFramingRoom, else undefined. */
export function framingRoom(view: Uint8Array): { before: number; after: number } | undefined {
  if (!withRoom.has(view.buffer)) return undefined;
  return {
    before: view.byteOffset,
    after: view.buffer.byteLength - view.byteOffset - view.byteLength,
  };
}

/**
 * Records whose values `encodeValues` writes into memory it gets from `allocate` (every byte
 * written, none zeroed): memory with framing room, so that the producer sends each value without
 * copying it into a request. Record `index` gets key `keyOf(index)`.
 */
export function encodeOutgoingRecords({
  encodeValues,
  keyOf,
}: {
  encodeValues: (allocate: (bytes: number) => Uint8Array) => Uint8Array[];
  keyOf: (index: number) => string;
}): OutgoingRecord[] {
  return encodeValues(allocateWithFramingRoom).map((value, index) => ({
    key: keyOf(index),
    value,
  }));
}
