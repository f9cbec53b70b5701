import {
  ChunkAssembler,
  MAX_SET_LABEL_CHARS,
  assembleCompleteChunkList,
  type ChunkAssemblerOptions,
  type ChunkAssemblerStats,
  type DroppedChunkSet,
  type PayloadChunk,
} from './chunking.js';
import {
  encodeChunkMessages,
  type ChunkedEncodeOptions,
  type ChunkMessageFields,
} from './chunked-tensor-set.js';
import { CodecError } from './codec-error.js';
import { rnnstream } from './generated/rnnstream.js';
import { checkInt64, int64ToNumber } from './int64.js';
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
  /** input.tokenizer "words": every id's word as of this version (carried by chunk 0 only). */
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
  return encodeChunkMessages({
    tensors: params.tensors,
    options,
    fields: PARAM_CHUNK_FIELDS,
    header: ({ index, count, totalBytes }) =>
      rnnstream.v1.ParamChunk.encode({
        modelId,
        version,
        chunkIndex: index,
        chunkCount: count,
        totalBytes,
        applied,
        ...(index === 0 && params.vocabulary !== undefined
          ? { vocabulary: [...params.vocabulary] }
          : {}),
      }).finish(),
  });
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
  /** Chunk 0's vocabulary of versions still being assembled. */
  private readonly vocabularies = new Map<string, readonly string[]>();

  constructor(options: ChunkAssemblerOptions = {}) {
    this.assembler = new ChunkAssembler(options);
  }

  /** Adds one chunk message; returns the parameters when it completes a version. Throws ChunkError / CodecError. */
  add(bytes: Uint8Array): DecodedParams | undefined {
    const { chunk, vocabulary, ...header } = decodeParamChunk(bytes);
    const id = `${header.modelId}/${header.version}`;
    const payload = this.assembler.addParts(header.modelId, header.version, chunk);
    if (payload === undefined) {
      // Kept only while its version is pending: a late duplicate of chunk 0 is not kept forever.
      if (
        vocabulary !== undefined &&
        chunk.index === 0 &&
        this.isPending(header.modelId, header.version)
      )
        this.vocabularies.set(id, vocabulary);
      return undefined;
    }
    const words = chunk.index === 0 ? vocabulary : this.vocabularies.get(id);
    this.vocabularies.delete(id);
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
