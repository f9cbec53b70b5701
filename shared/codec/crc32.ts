/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's crc32 and Kafka's v0/v1 records. */
import zlib from 'node:zlib';

// zlib.crc32 (Node >= 20.15) is ~10x faster than the table loop (9 ms vs 100 ms for 20 MB); a
// chunked 5M-parameter version or gradient is checksummed four times per hop, so it matters.
const NATIVE = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 of `bytes` as an unsigned 32-bit integer. Pass a previous result as `previous` to
 * continue over concatenated pieces: crc32(b, crc32(a)) === crc32(a ++ b).
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  if (NATIVE !== undefined) return NATIVE(bytes, previous) >>> 0;
  return crc32Table(bytes, previous);
}

/** The portable table-driven CRC (the fallback, and the reference the native one is tested against). */
export function crc32Table(bytes: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
