import { CodecError } from './codec-error.js';

/**
 * Reads protobuf wire data that lies in consecutive parts (the chunks of a reassembled payload)
 * as if they were one buffer, so a large payload is decoded without first being copied whole.
 */
export class PartsReader {
  private readonly parts: readonly Uint8Array[];
  /** starts[i] = offset of parts[i] in the whole. */
  private readonly starts: number[];
  readonly length: number;
  /** Position in the whole. */
  pos = 0;
  private part = 0;
  private offset = 0;

  constructor(parts: readonly Uint8Array[]) {
    this.parts = parts;
    this.starts = [];
    let length = 0;
    for (const p of parts) {
      this.starts.push(length);
      length += p.length;
    }
    this.length = length;
  }

  seek(pos: number): void {
    if (pos < 0 || pos > this.length)
      throw new CodecError(`offset ${pos} is outside the ${this.length}-byte message`);
    // The last part starting at or before pos, by binary search: a decoder seeks back (to a
    // tensor's data) once per tensor, and scanning from the first part each time took
    // tensors × parts steps for a payload of many small chunks.
    let part = 0;
    let last = this.parts.length - 1;
    while (part < last) {
      const mid = (part + last + 1) >>> 1;
      if (this.starts[mid]! <= pos) part = mid;
      else last = mid - 1;
    }
    this.part = part;
    this.offset = pos - (this.starts[part] ?? 0);
    this.pos = pos;
  }

  private byte(): number {
    while (this.part < this.parts.length && this.offset >= this.parts[this.part]!.length) {
      this.part++;
      this.offset = 0;
    }
    const p = this.parts[this.part];
    if (p === undefined) throw new CodecError(`message ends inside a field (${this.length} bytes)`);
    this.pos++;
    return p[this.offset++]!;
  }

  /** A varint of up to 53 bits. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new CodecError(`varint at offset ${this.pos - 8} is longer than 8 bytes`);
  }

  /** Skips the value of a field of `wireType` (after its key). */
  skipField(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.seek(this.checkedEnd(8));
        return;
      case 2:
        this.seek(this.checkedEnd(this.varint()));
        return;
      case 5:
        this.seek(this.checkedEnd(4));
        return;
      default:
        throw new CodecError(`wire type ${wireType} at offset ${this.pos} is not one protobuf has`);
    }
  }

  /** pos + length, or a CodecError if that is past the end. */
  checkedEnd(length: number, end = this.length): number {
    if (this.pos + length > end)
      throw new CodecError(
        `a field of ${length} bytes at offset ${this.pos} runs past its message's end (${end})`,
      );
    return this.pos + length;
  }

  /** The `length` bytes at `pos`: a view when they lie in one part, else a copy. */
  bytesAt(pos: number, length: number): Uint8Array {
    this.seek(pos);
    const p = this.parts[this.part];
    if (p !== undefined && this.offset + length <= p.length)
      return p.subarray(this.offset, this.offset + length);
    const out = new Uint8Array(length);
    this.copyAt(pos, out);
    return out;
  }

  /** Copies the out.length bytes at `pos` into `out`. */
  copyAt(pos: number, out: Uint8Array): void {
    this.seek(pos);
    let written = 0;
    while (written < out.length) {
      const p = this.parts[this.part];
      if (p === undefined)
        throw new CodecError(`message ends inside a field (${this.length} bytes)`);
      const n = Math.min(out.length - written, p.length - this.offset);
      out.set(p.subarray(this.offset, this.offset + n), written);
      written += n;
      this.offset += n;
      this.pos += n;
      if (this.offset === p.length && written < out.length) {
        this.part++;
        this.offset = 0;
      }
    }
  }
}
