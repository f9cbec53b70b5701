import {
  ChunkAssembler,
  MAX_SET_LABEL_CHARS,
  assembleCompleteChunkList,
  type ChunkAssemblerOptions,
  type ChunkAssemblerStats,
  type DroppedChunkSet,
  type PayloadChunk,
} from './chunking.js';
import { DEFAULT_MAX_CHUNK_BYTES } from './chunking.js';
import {
  encodeChunkMessages,
  type ChunkedEncodeOptions,
  type ChunkMessageFields,
} from './chunked-tensor-set.js';
import { CodecError } from './codec-error.js';
import { rnnstream } from './generated/rnnstream.js';
import { checkInt64, int64ToNumber } from './int64.js';
import { lengthDelimitedSize } from './protobuf-wire.js';
import type { TensorValue } from './tensor-codec.js';
import { decodeTensorSet, type NamedTensors } from './tensor-set-codec.js';

/** A gradient as the parameter service deduplicates it: the sending worker's id and its step. */
export interface GradientId {
  readonly workerId: string;
  readonly step: number;
}

/** One parameter version for `<app>.params` (compacted, key = modelId). */
export interface ParamMessage {
  readonly modelId: string;
  readonly version: number;
  /** Parameters by name (a Float32Array means shape [length]). */
  readonly tensors: NamedTensors;
  /** The gradients this version applied (none for a version published from a checkpoint or an initialiser). */
  readonly applied?: readonly GradientId[] | undefined;
  /** input.tokenizer "words": every id's word as of this version (spread over the chunks in order). */
  readonly vocabulary?: readonly string[] | undefined;
}

/** A reassembled parameter version: tensors are float32 in memory whatever the wire dtype. */
export interface DecodedParams extends Omit<ParamMessage, 'tensors'> {
  readonly tensors: Map<string, TensorValue>;
}

/** The header fields of one ParamChunk. */
export interface ParamChunkHeader extends Omit<ParamMessage, 'tensors'> {
  readonly chunk: PayloadChunk;
}

/** ParamChunk's field of the vocabulary's words. */
const VOCABULARY_FIELD = 31;

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Where ParamChunk (proto/rnnstream.proto) holds its payload slice and checksums. */
const PARAM_CHUNK_FIELDS: ChunkMessageFields = { payload: 7, checksum: 6, chunkChecksum: 8 };

/**
 * Encodes a parameter version as ParamChunk messages (bytes to produce with key = modelId), each
 * with a payload slice of at most `maxChunkBytes` (default 900,000) of the encoded TensorSet.
 */
export function encodeParamChunks(
  params: ParamMessage,
  options: ChunkedEncodeOptions = {},
): Uint8Array[] {
  const { modelId } = params;
  if (typeof modelId !== 'string' || modelId === '')
    throw new RangeError(`modelId is ${JSON.stringify(modelId)}, not a non-empty string`);
  if (modelId.length > MAX_SET_LABEL_CHARS)
    throw new RangeError(
      `modelId has ${modelId.length} characters, more than assemblers accept (${MAX_SET_LABEL_CHARS})`,
    );
  const version = checkInt64(params.version, 'version', { unsigned: true });
  const applied = (params.applied ?? []).map((g) => ({
    workerId: g.workerId,
    step: checkInt64(g.step, 'applied step', { unsigned: true }),
  }));
  const words = vocabularyLayout(params.vocabulary, options.maxChunkBytes);
  let slices: string[][] = [];
  return encodeChunkMessages({
    tensors: params.tensors,
    options,
    fields: PARAM_CHUNK_FIELDS,
    minCount: words.minCount,
    header: ({ index, count, totalBytes }) => {
      if (index === 0) slices = words.slices(count);
      return rnnstream.v1.ParamChunk.encode({
        modelId,
        version,
        chunkIndex: index,
        chunkCount: count,
        totalBytes,
        applied,
        ...(slices[index]!.length > 0 ? { vocabulary: slices[index] } : {}),
      }).finish();
    },
  });
}

/**
 * How a version's word list rides on its chunks: cut in id order into one slice per chunk,
 * balanced by bytes, so a vocabulary of any size stays within the messages' size (a reader
 * joins the slices in chunk order). The payload then needs at least as many chunks as payload
 * and words together take, each chunk keeping room for one more word than its even share.
 */
function vocabularyLayout(
  vocabulary: readonly string[] | undefined,
  maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES,
): { minCount: (payloadBytes: number) => number; slices: (count: number) => string[][] } {
  const sizes = (vocabulary ?? []).map((w) => lengthDelimitedSize(VOCABULARY_FIELD, utf8Length(w)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const largest = sizes.reduce((a, b) => Math.max(a, b), 0);
  return {
    minCount: (payloadBytes) =>
      total === 0 ? 1 : Math.ceil((payloadBytes + total) / Math.max(1, maxChunkBytes - largest)),
    slices: (count) => {
      const out: string[][] = Array.from({ length: count }, () => []);
      let chunk = 0;
      let bytes = 0;
      for (const [i, word] of (vocabulary ?? []).entries()) {
        // Move on once this chunk holds its share of the words' bytes.
        while (chunk < count - 1 && bytes >= ((chunk + 1) * total) / count) chunk++;
        out[chunk]!.push(word);
        bytes += sizes[i]!;
      }
      return out;
    },
  };
}

/** Decodes one ParamChunk message; throws CodecError for bytes that are not one. */
export function decodeParamChunk(bytes: Uint8Array): ParamChunkHeader {
  try {
    const m = rnnstream.v1.ParamChunk.decode(bytes);
    return {
      modelId: m.modelId,
      version: int64ToNumber(m.version, 'version'),
      applied: m.applied.map((g) => ({
        workerId: g.workerId ?? '',
        step: int64ToNumber(g.step ?? 0, 'applied step'),
      })),
      ...(m.vocabulary.length === 0 ? {} : { vocabulary: m.vocabulary }),
      chunk: {
        index: m.chunkIndex,
        count: m.chunkCount,
        totalBytes: int64ToNumber(m.totalBytes, 'total_bytes'),
        checksum: m.checksum,
        chunkChecksum: m.chunkChecksum,
        data: m.payload,
      },
    };
  } catch (error) {
    throw new CodecError(
      `not a valid ParamChunk message (${bytes.length} bytes): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Reassembles parameter versions from ParamChunk messages arriving in any order, per
 * (modelId, version) (see ChunkAssembler for the errors and the memory bound).
 */
export class ParamAssembler {
  private readonly assembler: ChunkAssembler;
  /** Per version still being assembled, its chunks' vocabulary slices by chunk index. */
  private readonly vocabularies = new Map<string, Map<number, readonly string[]>>();

  constructor(options: ChunkAssemblerOptions = {}) {
    this.assembler = new ChunkAssembler(options);
  }

  /** Adds one chunk message; returns the parameters when it completes a version. Throws ChunkError / CodecError. */
  add(bytes: Uint8Array): DecodedParams | undefined {
    const { chunk, vocabulary, ...header } = decodeParamChunk(bytes);
    const id = `${header.modelId}/${header.version}`;
    const payload = this.assembler.addParts(header.modelId, header.version, chunk);
    if (payload === undefined) {
      // Kept only while its version is pending: a late duplicate chunk is not kept forever.
      if (vocabulary !== undefined && this.isPending(header.modelId, header.version)) {
        const slices = this.vocabularies.get(id) ?? new Map<number, readonly string[]>();
        slices.set(chunk.index, vocabulary);
        this.vocabularies.set(id, slices);
      }
      return undefined;
    }
    const slices = this.vocabularies.get(id) ?? new Map<number, readonly string[]>();
    if (vocabulary !== undefined) slices.set(chunk.index, vocabulary);
    this.vocabularies.delete(id);
    const words =
      slices.size === 0
        ? undefined
        : [...slices].sort(([a], [b]) => a - b).flatMap(([, slice]) => slice);
    return {
      ...header,
      ...(words === undefined ? {} : { vocabulary: words }),
      tensors: decodeTensorSet(payload),
    };
  }

  expire(): DroppedChunkSet[] {
    const dropped = this.assembler.expire();
    for (const { source, id } of dropped) this.vocabularies.delete(`${source}/${id}`);
    return dropped;
  }

  isPending(modelId: string, version: number): boolean {
    return this.assembler.isPending(modelId, version);
  }

  missing(modelId: string, version: number): number[] | undefined {
    return this.assembler.missing(modelId, version);
  }

  get stats(): ChunkAssemblerStats {
    return this.assembler.stats;
  }
}

/**
 * Decodes the complete chunk list of one parameter version, in any order. Throws ChunkError
 * ('missing' when chunks are absent, or what ParamAssembler.add throws).
 */
export function decodeParamChunks(chunks: Iterable<Uint8Array>): DecodedParams {
  const assembler = new ParamAssembler({
    maxAgeMs: Number.POSITIVE_INFINITY,
    maxPendingBytes: Number.MAX_SAFE_INTEGER,
    maxPendingChunks: Number.POSITIVE_INFINITY,
  });
  return assembleCompleteChunkList(chunks, {
    what: 'parameter',
    identify: (bytes) => {
      const header = decodeParamChunk(bytes);
      return { source: header.modelId, id: header.version, count: header.chunk.count };
    },
    add: (bytes) => assembler.add(bytes),
    missing: (source, id) => assembler.missing(source, id),
  });
}
