import { createRegionSink } from './byte-sink.js';
import { checkMaxChunkBytes, DEFAULT_MAX_CHUNK_BYTES } from './chunking.js';
import { crc32, crc32Combine } from './crc32.js';
import {
  lengthDelimitedSize,
  varintFieldSize,
  writeLengthDelimitedHeader,
  writeVarintField,
} from './protobuf-wire.js';
import type { TensorDType } from './tensor-codec.js';
import { planTensorSet, type NamedTensors } from './tensor-set-codec.js';

/** How named tensors are put on a chunked topic. */
export interface ChunkedEncodeOptions {
  /** Element type on the wire (default float32, lossless; bfloat16 / float16 halve the bytes). */
  readonly dtype?: TensorDType;
  /** Largest payload slice per chunk message (default DEFAULT_MAX_CHUNK_BYTES = 900,000). */
  readonly maxChunkBytes?: number;
  /**
   * Where each message's bytes are allocated (every byte is written; default: a new
   * Uint8Array). Records for Kafka get memory the producer frames in place (the transport's
   * encodeOutgoingRecords).
   */
  readonly allocate?: (bytes: number) => Uint8Array;
}

/** Where a chunk message (GradientChunk, ParamChunk) holds its payload slice and checksums. */
export interface ChunkMessageFields {
  /** `bytes`: this chunk's slice of the encoded TensorSet. */
  readonly payload: number;
  /** `uint32`: CRC-32 of the whole encoded TensorSet. */
  readonly checksum: number;
  /** `uint32`: CRC-32 of this chunk's slice. */
  readonly chunkChecksum: number;
}

/** What a chunk message's other fields are made of. */
export interface ChunkPosition {
  readonly index: number;
  readonly count: number;
  /** Length of the whole encoded TensorSet. */
  readonly totalBytes: number;
}

/**
 * Encodes named tensors as a TensorSet split over ceil(size / maxChunkBytes) chunk messages (at
 * least one). Each message is `header(position)` — its other fields, protobuf-encoded — followed
 * by the payload slice and the two checksums: fields may come in any order on the wire. The
 * TensorSet is written once, straight into the messages' payload regions; protobufjs would queue
 * it, copy it on finish() and copy each slice again (most of a 5 M-parameter round's encoding
 * time, BENCHMARKS.md "Parameter service rounds").
 */
export function encodeChunkMessages({
  tensors,
  options: {
    dtype = 'float32',
    maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES,
    allocate = (bytes: number) => new Uint8Array(bytes),
  } = {},
  fields,
  header,
  minCount,
}: {
  tensors: NamedTensors;
  options?: ChunkedEncodeOptions;
  fields: ChunkMessageFields;
  header: (position: ChunkPosition) => Uint8Array;
  /**
   * At least this many chunks for a payload of `payloadBytes` (capped at one byte per chunk):
   * for headers that spread data of their own over the chunks (a version's vocabulary), so that
   * header and payload slice together stay within a message. The payload is then cut evenly.
   */
  minCount?: (payloadBytes: number) => number;
}): Uint8Array[] {
  checkMaxChunkBytes(maxChunkBytes);
  const plan = planTensorSet(tensors, dtype);
  const { totalBytes } = plan;
  const bySize = Math.max(1, Math.ceil(totalBytes / maxChunkBytes));
  const count = Math.max(bySize, Math.min(minCount?.(totalBytes) ?? 1, totalBytes));
  // Chunks of maxChunkBytes and the rest, or (more chunks asked for) even cuts, none empty.
  const startOf = (index: number) =>
    count === bySize
      ? Math.min(totalBytes, index * maxChunkBytes)
      : Math.floor((index * totalBytes) / count);
  const checksumRoom =
    varintFieldSize(fields.checksum, 0xffffffff) +
    varintFieldSize(fields.chunkChecksum, 0xffffffff);
  const messages: Array<{ buffer: Uint8Array; region: Uint8Array; end: number }> = [];
  for (let index = 0; index < count; index++) {
    const length = startOf(index + 1) - startOf(index);
    const head = header({ index, count, totalBytes });
    const buffer = allocate(
      head.length + lengthDelimitedSize(fields.payload, length) + checksumRoom,
    );
    buffer.set(head, 0);
    const start = writeLengthDelimitedHeader(buffer, head.length, fields.payload, length);
    messages.push({ buffer, region: buffer.subarray(start, start + length), end: start + length });
  }
  const sink = createRegionSink(messages.map((m) => m.region));
  plan.writeTo(sink);
  if (sink.written !== totalBytes)
    throw new Error(`TensorSet wrote ${sink.written} bytes, planned ${totalBytes} (a bug)`);
  const chunkChecksums = messages.map(({ region }) => crc32(region));
  let checksum = 0;
  for (const [i, { region }] of messages.entries())
    checksum = crc32Combine(checksum, chunkChecksums[i]!, region.length);
  return messages.map(({ buffer, end }, i) => {
    let offset = writeVarintField(buffer, end, fields.checksum, checksum);
    offset = writeVarintField(buffer, offset, fields.chunkChecksum, chunkChecksums[i]!);
    return buffer.subarray(0, offset);
  });
}
