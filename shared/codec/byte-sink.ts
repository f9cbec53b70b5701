import { writeVarint } from './protobuf-wire.js';

/**
 * Where an encoder writes bytes: one buffer, or consecutive regions of several buffers (the
 * payload slices of chunk messages, so a large payload is written once, straight into the
 * messages that carry it). A sink is filled exactly: writing past its end throws.
 */
export interface ByteSink {
  /** Writes `value` (a non-negative safe integer) as a protobuf varint. */
  varint(value: number): void;
  /** Copies `bytes`. */
  bytes(bytes: Uint8Array): void;
  /** Bytes written so far. */
  readonly written: number;
}

/** A sink over consecutive `regions` (views; written in order, each filled before the next). */
export function createRegionSink(regions: readonly Uint8Array[]): ByteSink {
  let region = 0;
  let offset = 0;
  let written = 0;
  const current = (): Uint8Array => {
    while (region < regions.length && offset === regions[region]!.length) {
      region++;
      offset = 0;
    }
    const out = regions[region];
    if (out === undefined) throw new RangeError(`byte sink full after ${written} bytes`);
    return out;
  };
  const scratch = new Uint8Array(MAX_VARINT_BYTES);
  const sink: ByteSink = {
    varint(value) {
      sink.bytes(scratch.subarray(0, writeVarint(scratch, 0, value)));
    },
    bytes(bytes) {
      let from = 0;
      while (from < bytes.length) {
        const out = current();
        const n = Math.min(bytes.length - from, out.length - offset);
        out.set(bytes.subarray(from, from + n), offset);
        from += n;
        offset += n;
        written += n;
      }
    },
    get written() {
      return written;
    },
  };
  return sink;
}

/** A varint of a safe integer (< 2^53) takes at most 8 bytes. */
const MAX_VARINT_BYTES = 8;
