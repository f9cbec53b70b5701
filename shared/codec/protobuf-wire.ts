/**
 * Just enough of the protobuf wire format to write messages straight into their final buffer:
 * those whose bulk is one large `bytes` field (protobufjs' Writer queues every field and copies a
 * `bytes` value again on finish(); for 22 MB of tensors per parameter version that was most of
 * the encoding time, BENCHMARKS.md "Parameter service rounds"), and the one Prediction per event
 * a worker writes (a Writer allocated a dozen objects for each).
 */

/** Wire type 2: a length-delimited field (string, bytes, embedded message, packed repeated). */
const LENGTH_DELIMITED = 2;
/** Wire type 0: a varint field. */
const VARINT = 0;
/** Wire type 1: a 64-bit little-endian field (double, fixed64). */
const FIXED64 = 1;

/** Bytes of the varint encoding of an unsigned 32-bit value or a safe integer up to 2^53. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes `value` (a non-negative safe integer) as a varint at `offset`; returns the next offset. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    out[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

/** The key of a field (field number and wire type) as a varint value. */
export function fieldKey(fieldNumber: number, wireType: 0 | 1 | 2): number {
  return fieldNumber * 8 + wireType;
}

/** Bytes of a length-delimited field holding `length` bytes. */
export function lengthDelimitedSize(fieldNumber: number, length: number): number {
  return varintSize(fieldKey(fieldNumber, LENGTH_DELIMITED)) + varintSize(length) + length;
}

/** Writes the key and length of a length-delimited field; the caller writes its `length` bytes next. */
export function writeLengthDelimitedHeader(
  out: Uint8Array,
  offset: number,
  fieldNumber: number,
  length: number,
): number {
  return writeVarint(
    out,
    writeVarint(out, offset, fieldKey(fieldNumber, LENGTH_DELIMITED)),
    length,
  );
}

/** Bytes of a varint field. */
export function varintFieldSize(fieldNumber: number, value: number): number {
  return varintSize(fieldKey(fieldNumber, VARINT)) + varintSize(value);
}

export function writeVarintField(
  out: Uint8Array,
  offset: number,
  fieldNumber: number,
  value: number,
): number {
  return writeVarint(out, writeVarint(out, offset, fieldKey(fieldNumber, VARINT)), value);
}

/** Bytes of a 64-bit fixed field (a double). */
export function fixed64FieldSize(fieldNumber: number): number {
  return varintSize(fieldKey(fieldNumber, FIXED64)) + 8;
}

/** Writes a double field (key, then the value little-endian); returns the next offset. */
export function writeDoubleField(
  out: Buffer,
  offset: number,
  fieldNumber: number,
  value: number,
): number {
  return out.writeDoubleLE(value, writeVarint(out, offset, fieldKey(fieldNumber, FIXED64)));
}
