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
  const byte = (value: number) => {
    current()[offset++] = value;
    written++;
  };
  return {
    varint(value) {
      while (value >= 0x80) {
        byte((value % 128) | 0x80);
        value = Math.floor(value / 128);
      }
      byte(value);
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
}
