/**
 * kafkajs' Produce request (v3, which v4–v7 reuse) and request framing, written in one pass
 * into one exactly sized buffer. The bytes are the ones kafkajs writes (tested against it).
 *
 * Why: kafkajs builds every record with its own `Encoder` (a zeroed 512-byte buffer, a Buffer
 * per varint, `Long` objects for the timestamp delta), then copies records into the batch, the
 * batch into the partition, the partition into the topic, the topic into the request and the
 * request into its frame, each copy into a buffer grown by doubling. A worker transaction of
 * 5,000 predictions and 1,000 key states spent more time there than in the model.
 *
 * Compressed batches go to kafkajs' own encoder unchanged.
 */

// Kafka's varints are protobuf's base-128 varints (zig-zag encoded for signed values).
import { varintSize, writeVarint } from '../../codec/protobuf-wire.js';
import { framingRoom } from './framing-room.js';

/** The subset of kafkajs' `Encoder` this module needs: a buffer and how much of it is written. */
export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  /**
   * Ours only: this many bytes before `buf` in its ArrayBuffer are free for the request frame's
   * header (createRequestFramer writes it there instead of copying the payload).
   */
  headroomBytes?: number;
}

/**
 * Room left before a large produce request: size, api key, version, correlation id and a client
 * id of up to 242 bytes (a longer one makes the framer copy). Small requests get none: they
 * come from Node's shared buffer pool, where the bytes before them are not theirs.
 */
const FRAME_HEADROOM_BYTES = 256;
const HEADROOM_FROM_BYTES = 64 * 1024;

type Bytes = Buffer | string | null | undefined;

interface ProduceMessage {
  readonly key?: Bytes;
  readonly value: Bytes;
  readonly headers?: Record<string, Bytes | Bytes[]>;
  readonly timestamp?: string | number | null;
}

interface PartitionData {
  readonly partition: number;
  readonly firstSequence?: number;
  readonly messages: readonly ProduceMessage[];
}

interface TopicData {
  readonly topic: string;
  readonly partitions: readonly PartitionData[];
}

/** kafkajs' Long (only what the encoder calls). */
interface LongLike {
  getHighBits(): number;
  getLowBits(): number;
}

export interface ProduceRequestArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  /** A kafkajs Long, a number or a numeric string (kafkajs passes all three). */
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly compression?: number;
  readonly topicData: readonly TopicData[];
}

export interface ProduceRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  readonly expectResponse: () => boolean;
  readonly encode: () => Promise<KafkajsEncoder>;
}

export interface ProduceRequestDeps {
  /** Makes an empty kafkajs Encoder, so the result is what kafkajs' callers expect. */
  readonly newEncoder: () => KafkajsEncoder;
  /** kafkajs' `Long.fromValue` (int64 fields accept numbers, strings and Longs). */
  readonly longFromValue: (value: unknown) => LongLike;
  /** CRC-32C as an unsigned 32-bit number. */
  readonly crc32c: (bytes: Buffer) => number;
  /** kafkajs' own v3 request, for compressed batches. */
  readonly kafkajsProduceRequest: (args: ProduceRequestArgs) => ProduceRequest;
}

const PRODUCE_API_KEY = 0;
const COMPRESSION_NONE = 0;
const MAGIC = 2;
const TRANSACTIONAL_ATTRIBUTE = 16;
/** From the record batch's firstOffset to its record count, inclusive. */
const RECORD_BATCH_HEADER_BYTES = 61;
/** The bytes of a record batch before its `attributes` field: what its CRC does not cover. */
const BEFORE_ATTRIBUTES_BYTES = 21;

export function createProduceRequestV3(
  deps: ProduceRequestDeps,
): (args: ProduceRequestArgs) => ProduceRequest {
  return (args) => {
    if ((args.compression ?? COMPRESSION_NONE) !== COMPRESSION_NONE)
      return deps.kafkajsProduceRequest(args);
    return {
      apiKey: PRODUCE_API_KEY,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => args.acks !== 0,
      encode: async () => {
        const encoder = deps.newEncoder();
        const { buf, headroomBytes } = encodeProduceRequest(args, deps);
        encoder.buf = buf;
        encoder.offset = buf.length;
        if (headroomBytes > 0) encoder.headroomBytes = headroomBytes;
        return encoder;
      },
    };
  };
}

interface PlannedPartition {
  readonly data: PartitionData;
  readonly firstTimestamp: string | number;
  readonly maxTimestamp: string | number;
  readonly timestampDeltas: Float64Array;
  readonly bodySizes: Int32Array;
  /** Each message's headers as kafkajs flattens them (array values → one header each), if any. */
  readonly headers: ReadonlyArray<HeaderEntries | undefined>;
  readonly recordsBytes: number;
}

type HeaderEntries = Array<[string, Bytes]>;

/** The request in one buffer; a large one with unwritten room before it for the frame header. */
function encodeProduceRequest(
  args: ProduceRequestArgs,
  deps: ProduceRequestDeps,
): { buf: Buffer; headroomBytes: number } {
  const transactionalId = args.transactionalId ?? null;
  let size = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 4 + 4;
  const planned: PlannedPartition[][] = [];
  for (const topic of args.topicData) {
    size += 2 + Buffer.byteLength(topic.topic) + 4;
    const partitions = topic.partitions.map(planPartition);
    for (const p of partitions) size += 4 + 4 + RECORD_BATCH_HEADER_BYTES + p.recordsBytes;
    planned.push(partitions);
  }

  const around = aroundLoneValue(args, planned, size);
  const headroomBytes =
    around?.headroomBytes ?? (size >= HEADROOM_FROM_BYTES ? FRAME_HEADROOM_BYTES : 0);
  const buf =
    around?.buf ??
    (headroomBytes > 0
      ? Buffer.allocUnsafeSlow(headroomBytes + size).subarray(headroomBytes)
      : Buffer.allocUnsafe(size));
  let at = writeNullableString(buf, 0, transactionalId);
  at = buf.writeInt16BE(args.acks, at);
  at = buf.writeInt32BE(args.timeout, at);
  at = buf.writeInt32BE(args.topicData.length, at);
  const producerId = deps.longFromValue(args.producerId ?? -1);
  const attributes = transactionalId === null ? 0 : TRANSACTIONAL_ATTRIBUTE;
  args.topicData.forEach((topic, t) => {
    at = writeNullableString(buf, at, topic.topic);
    at = buf.writeInt32BE(topic.partitions.length, at);
    for (const p of planned[t]!) {
      const batchBytes = RECORD_BATCH_HEADER_BYTES + p.recordsBytes;
      at = buf.writeInt32BE(p.data.partition, at);
      at = buf.writeInt32BE(batchBytes, at);
      const batchStart = at;
      at = writeInt64(buf, at, deps.longFromValue(0));
      at = buf.writeInt32BE(batchBytes - 12, at);
      at = buf.writeInt32BE(0, at); // partition leader epoch
      at = buf.writeInt8(MAGIC, at);
      const crcAt = at;
      at += 4;
      at = buf.writeInt16BE(attributes, at);
      at = buf.writeInt32BE(p.data.messages.length - 1, at);
      at = writeInt64(buf, at, deps.longFromValue(p.firstTimestamp));
      at = writeInt64(buf, at, deps.longFromValue(p.maxTimestamp));
      at = writeInt64(buf, at, producerId);
      at = buf.writeInt16BE(args.producerEpoch ?? 0, at);
      at = buf.writeInt32BE(p.data.firstSequence ?? 0, at);
      at = buf.writeInt32BE(p.data.messages.length, at);
      at = writeRecords(buf, at, p);
      buf.writeUInt32BE(deps.crc32c(buf.subarray(batchStart + BEFORE_ATTRIBUTES_BYTES, at)), crcAt);
    }
  });
  if (at !== size) throw new Error(`produce request: planned ${size} bytes, wrote ${at}`);
  return { buf, headroomBytes };
}

/**
 * For a request of one record whose value has framing room (framing-room.ts): the request's
 * place around the value, so that the value's bytes are already where they belong. Else undefined.
 */
function aroundLoneValue(
  args: ProduceRequestArgs,
  planned: readonly PlannedPartition[][],
  size: number,
): { buf: Buffer; headroomBytes: number } | undefined {
  const partitions = planned.length === 1 ? planned[0]! : [];
  const lone = partitions.length === 1 ? partitions[0]! : undefined;
  const value = lone?.data.messages.length === 1 ? lone.data.messages[0]!.value : undefined;
  if (!Buffer.isBuffer(value) || args.topicData.length !== 1) return undefined;
  const room = framingRoom(value);
  const after = sizeOfHeaders(lone!.headers[0]);
  const before = size - value.length - after;
  if (room === undefined || room.before < before || room.after < after) return undefined;
  return {
    buf: Buffer.from(value.buffer, value.byteOffset - before, size),
    headroomBytes: room.before - before,
  };
}

/** Timestamps and sizes of one partition's records, computed as kafkajs computes them. */
function planPartition(data: PartitionData): PlannedPartition {
  const now = Date.now();
  // kafkajs sorts the given timestamps with the default (string) order; kept for identical bytes.
  const given: Array<string | number> = [];
  for (const m of data.messages) if (m.timestamp != null) given.push(m.timestamp);
  given.sort();
  const firstTimestamp = given.length === 0 ? now : given[0]!;
  const maxTimestamp = given.length === 0 ? now : given[given.length - 1]!;
  const count = data.messages.length;
  const timestampDeltas = new Float64Array(count);
  const bodySizes = new Int32Array(count);
  const headers = new Array<HeaderEntries | undefined>(count);
  let recordsBytes = 0;
  for (let i = 0; i < count; i++) {
    const m = data.messages[i]!;
    const delta = Number(m.timestamp || now) - Number(firstTimestamp);
    timestampDeltas[i] = delta;
    const entries = m.headers && headerEntries(m.headers);
    headers[i] = entries;
    const body =
      1 +
      sizeOfVarLong(delta) +
      sizeOfVarInt(i) +
      sizeOfBytes(m.key) +
      sizeOfBytes(m.value) +
      sizeOfHeaders(entries);
    bodySizes[i] = body;
    recordsBytes += sizeOfVarInt(body) + body;
  }
  return { data, firstTimestamp, maxTimestamp, timestampDeltas, bodySizes, headers, recordsBytes };
}

function writeRecords(buf: Buffer, start: number, p: PlannedPartition): number {
  let at = start;
  const messages = p.data.messages;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    at = writeVarInt(buf, at, p.bodySizes[i]!);
    buf[at++] = 0; // record attributes
    at = writeVarLong(buf, at, p.timestampDeltas[i]!);
    at = writeVarInt(buf, at, i);
    at = writeBytes(buf, at, m.key);
    at = writeBytes(buf, at, m.value);
    at = writeHeaders(buf, at, p.headers[i]);
  }
  return at;
}

function headerEntries(headers: NonNullable<ProduceMessage['headers']>): HeaderEntries {
  const entries: HeaderEntries = [];
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (Array.isArray(value)) for (const v of value) entries.push([key, v]);
    else entries.push([key, value]);
  }
  return entries;
}

/** A record's header array: its count, then each key and value (no headers: a count of 0). */
function sizeOfHeaders(entries: HeaderEntries | undefined): number {
  if (entries === undefined) return 1;
  let size = sizeOfVarInt(entries.length);
  for (const [key, value] of entries) size += sizeOfString(key) + sizeOfBytes(value);
  return size;
}

function writeHeaders(buf: Buffer, start: number, entries: HeaderEntries | undefined): number {
  if (entries === undefined) return writeVarInt(buf, start, 0);
  let at = writeVarInt(buf, start, entries.length);
  for (const [key, value] of entries) {
    const length = Buffer.byteLength(key);
    at = writeVarInt(buf, at, length);
    at += buf.write(key, at, length, 'utf8');
    at = writeBytes(buf, at, value);
  }
  return at;
}

function sizeOfString(value: string): number {
  const length = Buffer.byteLength(value);
  return sizeOfVarInt(length) + length;
}

function sizeOfBytes(value: Bytes): number {
  if (value == null) return 1; // varint -1
  const length = Buffer.isBuffer(value) ? value.length : Buffer.byteLength(String(value));
  return sizeOfVarInt(length) + length;
}

function writeBytes(buf: Buffer, start: number, value: Bytes): number {
  if (value == null) return writeVarInt(buf, start, -1);
  if (Buffer.isBuffer(value)) {
    const at = writeVarInt(buf, start, value.length);
    // Written around the value in place (aroundLoneValue): its bytes are there already.
    if (value.buffer === buf.buffer && value.byteOffset === buf.byteOffset + at)
      return at + value.length;
    return at + value.copy(buf, at);
  }
  const text = String(value);
  const length = Buffer.byteLength(text);
  const at = writeVarInt(buf, start, length);
  return at + buf.write(text, at, length, 'utf8');
}

function writeNullableString(buf: Buffer, start: number, value: string | null): number {
  if (value === null) return buf.writeInt16BE(-1, start);
  const length = Buffer.byteLength(value);
  const at = buf.writeInt16BE(length, start);
  return at + buf.write(value, at, length, 'utf8');
}

function writeInt64(buf: Buffer, start: number, value: LongLike): number {
  buf.writeInt32BE(value.getHighBits(), start);
  return buf.writeInt32BE(value.getLowBits(), start + 4);
}

/** Zig-zag of a 32-bit signed integer (Kafka's `varint`), as an unsigned 32-bit value. */
function zigZag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

function sizeOfVarInt(value: number): number {
  return varintSize(zigZag32(value));
}

function writeVarInt(buf: Buffer, start: number, value: number): number {
  return writeVarint(buf, start, zigZag32(value));
}

/** Zig-zag of a safe integer (Kafka's `varlong`), as a non-negative double. */
function zigZag64(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function sizeOfVarLong(value: number): number {
  return varintSize(zigZag64(value));
}

function writeVarLong(buf: Buffer, start: number, value: number): number {
  return writeVarint(buf, start, zigZag64(value));
}

export interface RequestFrameArgs {
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly request: {
    readonly apiKey: number;
    readonly apiVersion: number;
    readonly encode: () => Promise<KafkajsEncoder>;
  };
}

/**
 * kafkajs' `protocol/request.js`: size, api key and version, correlation id, client id, then
 * the request's payload. The header goes into the room a produce request leaves before its
 * payload (no copy of a 900 KB chunk); other payloads are copied once instead of twice into
 * doubling buffers.
 */
export function createRequestFramer(
  newEncoder: () => KafkajsEncoder,
): (args: RequestFrameArgs) => Promise<KafkajsEncoder> {
  return async ({ correlationId, clientId, request }) => {
    const payload = await request.encode();
    const payloadBytes = payload.offset;
    const clientIdBytes = clientId == null ? 0 : Buffer.byteLength(clientId);
    const headerBytes = 2 + 2 + 4 + 2 + clientIdBytes;
    const inPlace = (payload.headroomBytes ?? 0) >= 4 + headerBytes;
    const buf = inPlace
      ? Buffer.from(
          payload.buf.buffer,
          payload.buf.byteOffset - 4 - headerBytes,
          4 + headerBytes + payloadBytes,
        )
      : Buffer.allocUnsafe(4 + headerBytes + payloadBytes);
    let at = buf.writeInt32BE(headerBytes + payloadBytes, 0);
    at = buf.writeInt16BE(request.apiKey, at);
    at = buf.writeInt16BE(request.apiVersion, at);
    at = buf.writeInt32BE(correlationId, at);
    at = writeNullableString(buf, at, clientId ?? null);
    if (!inPlace) payload.buf.copy(buf, at, 0, payload.offset);
    const frame = newEncoder();
    frame.buf = buf;
    frame.offset = buf.length;
    return frame;
  };
}
