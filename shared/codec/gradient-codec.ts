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

/** One worker's gradient for `<app>.gradients` (the WorkerGradient of shared/tbptt/gradient-sink.ts as arrays). */
export interface GradientMessage {
  readonly workerId: string;
  /** The worker's own step counter: (workerId, step) identifies the gradient. */
  readonly step: number;
  /** Parameter version the gradient was computed on. */
  readonly paramVersion: number;
  /** Steps whose loss the gradient averages (its weight). */
  readonly tokens: number;
  readonly lossSum: number;
  /** Gradient by parameter name (a Float32Array means shape [length]). */
  readonly tensors: NamedTensors;
  /** input.tokenizer "words": words read without an id, with counts (at most MAX_WORD_COUNTS). */
  readonly wordCounts?: ReadonlyMap<string, number> | undefined;
}

/** Most word counts one gradient carries (every chunk carries them). */
export const MAX_WORD_COUNTS = 1024;

/** A reassembled gradient: tensors are float32 in memory whatever the wire dtype. */
export interface DecodedGradient extends Omit<GradientMessage, 'tensors'> {
  readonly tensors: Map<string, TensorValue>;
}

/** The header fields of one GradientChunk. */
export interface GradientChunkHeader extends Omit<GradientMessage, 'tensors'> {
  readonly chunk: PayloadChunk;
}

/** Where GradientChunk (proto/rnnstream.proto) holds its payload slice and checksums. */
const GRADIENT_CHUNK_FIELDS: ChunkMessageFields = { payload: 10, checksum: 9, chunkChecksum: 11 };

/**
 * Encodes a gradient as GradientChunk messages (bytes to produce with key = workerId), each with a
 * payload slice of at most `maxChunkBytes` (default 900,000) of the encoded TensorSet.
 */
export function encodeGradientChunks(
  gradient: GradientMessage,
  options: ChunkedEncodeOptions = {},
): Uint8Array[] {
  const { workerId, lossSum } = gradient;
  if (typeof workerId !== 'string' || workerId === '')
    throw new RangeError(`workerId is ${JSON.stringify(workerId)}, not a non-empty string`);
  if (workerId.length > MAX_SET_LABEL_CHARS)
    throw new RangeError(
      `workerId has ${workerId.length} characters, more than assemblers accept (${MAX_SET_LABEL_CHARS})`,
    );
  const step = checkInt64(gradient.step, 'step', { unsigned: true });
  const paramVersion = checkInt64(gradient.paramVersion, 'paramVersion', { unsigned: true });
  const tokens = checkInt64(gradient.tokens, 'tokens', { unsigned: true });
  const wordCounts = [...(gradient.wordCounts ?? [])].map(([word, count]) => ({
    word,
    count: checkInt64(count, 'word count', { unsigned: true }),
  }));
  if (wordCounts.length > MAX_WORD_COUNTS)
    throw new RangeError(
      `${wordCounts.length} word counts: at most ${MAX_WORD_COUNTS} per gradient`,
    );
  return encodeChunkMessages({
    tensors: gradient.tensors,
    options,
    fields: GRADIENT_CHUNK_FIELDS,
    header: ({ index, count, totalBytes }) =>
      rnnstream.v1.GradientChunk.encode({
        workerId,
        step,
        paramVersion,
        tokens,
        lossSum,
        chunkIndex: index,
        chunkCount: count,
        totalBytes,
        wordCounts,
      }).finish(),
  });
}

/** Decodes one GradientChunk message; throws CodecError for bytes that are not one. */
export function decodeGradientChunk(bytes: Uint8Array): GradientChunkHeader {
  try {
    const m = rnnstream.v1.GradientChunk.decode(bytes);
    return {
      workerId: m.workerId,
      step: int64ToNumber(m.step, 'step'),
      paramVersion: int64ToNumber(m.paramVersion, 'param_version'),
      tokens: int64ToNumber(m.tokens, 'tokens'),
      lossSum: m.lossSum,
      ...(m.wordCounts.length === 0
        ? {}
        : {
            wordCounts: new Map(
              m.wordCounts
                .slice(0, MAX_WORD_COUNTS)
                .map((c) => [c.word ?? '', int64ToNumber(c.count ?? 0, 'word count')] as const)
                .filter(([word, count]) => word !== '' && count > 0),
            ),
          }),
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
      `not a valid GradientChunk message (${bytes.length} bytes): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Reassembles gradients from GradientChunk messages arriving in any order, per (workerId, step)
 * (see ChunkAssembler for the errors and the memory bound). Every chunk of a gradient must carry
 * the same paramVersion, tokens and lossSum, else the chunk is rejected as a 'mismatch'.
 */
export class GradientAssembler {
  private readonly assembler: ChunkAssembler;
  private readonly allocate: ((elements: number) => Float32Array) | undefined;

  constructor({
    allocate,
    ...options
  }: ChunkAssemblerOptions & {
    /** Where reassembled tensors go (e.g. a Float32ArrayPool's take); default new arrays. */
    allocate?: (elements: number) => Float32Array;
  } = {}) {
    this.assembler = new ChunkAssembler(options);
    this.allocate = allocate;
  }

  /** Adds one chunk message; returns the gradient when it completes one. Throws ChunkError / CodecError. */
  add(bytes: Uint8Array): DecodedGradient | undefined {
    const { chunk, ...header } = decodeGradientChunk(bytes);
    const meta = `param version ${header.paramVersion}, tokens ${header.tokens}, loss sum ${header.lossSum}`;
    const payload = this.assembler.addParts(header.workerId, header.step, chunk, meta);
    if (payload === undefined) return undefined;
    const tensors = decodeTensorSet(payload, this.allocate ? { allocate: this.allocate } : {});
    return { ...header, tensors };
  }

  expire(): DroppedChunkSet[] {
    return this.assembler.expire();
  }

  isPending(workerId: string, step: number): boolean {
    return this.assembler.isPending(workerId, step);
  }

  missing(workerId: string, step: number): number[] | undefined {
    return this.assembler.missing(workerId, step);
  }

  get stats(): ChunkAssemblerStats {
    return this.assembler.stats;
  }
}

/**
 * Decodes the complete chunk list of one gradient, in any order. Throws ChunkError ('missing'
 * when chunks are absent, or what GradientAssembler.add throws).
 */
export function decodeGradientChunks(chunks: Iterable<Uint8Array>): DecodedGradient {
  const assembler = new GradientAssembler({
    maxAgeMs: Number.POSITIVE_INFINITY,
    maxPendingBytes: Number.MAX_SAFE_INTEGER,
    maxPendingChunks: Number.POSITIVE_INFINITY,
  });
  return assembleCompleteChunkList(chunks, {
    what: 'gradient',
    identify: (bytes) => {
      const header = decodeGradientChunk(bytes);
      return { source: header.workerId, id: header.step, count: header.chunk.count };
    },
    add: (bytes) => assembler.add(bytes),
    missing: (source, id) => assembler.missing(source, id),
  });
}
