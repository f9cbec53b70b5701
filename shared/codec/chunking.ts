import { abbreviate } from '../errors/abbreviate.js';
import { CodecError } from './codec-error.js';
import { crc32, crc32Combine } from './crc32.js';

/**
 * Largest payload slice per chunk by default: with the chunk message's header fields (well under
 * 1 KB) a chunk stays below Kafka's default `max.message.bytes` (1 MB).
 */
export const DEFAULT_MAX_CHUNK_BYTES = 900_000;

/**
 * Longest source or id of a chunk set, in characters: worker and model ids are far shorter. The
 * bound keeps set keys below the 16,383 characters beyond which V8 hashes a string by its length
 * alone, so that many long sources of one length cannot make every Map lookup a linear scan.
 */
export const MAX_SET_LABEL_CHARS = 4096;

/** What every chunk of a payload carries about itself and the whole. */
export interface ChunkHeader {
  /** 0-based position of this chunk. */
  readonly index: number;
  /** Chunks in the set (≥ 1; an empty payload is one empty chunk). */
  readonly count: number;
  /** Length of the whole payload. */
  readonly totalBytes: number;
  /** CRC-32 of the whole payload. */
  readonly checksum: number;
  /** CRC-32 of this chunk's data. */
  readonly chunkChecksum: number;
}

export interface PayloadChunk extends ChunkHeader {
  /** This chunk's slice of the payload (a view, not a copy). */
  readonly data: Uint8Array;
}

/** Throws a RangeError unless `maxChunkBytes` is a positive integer. */
export function checkMaxChunkBytes(maxChunkBytes: number): void {
  if (!Number.isSafeInteger(maxChunkBytes) || maxChunkBytes < 1) {
    throw new RangeError(
      `maxChunkBytes is ${maxChunkBytes}, not a positive integer (default ${DEFAULT_MAX_CHUNK_BYTES})`,
    );
  }
}

/**
 * Splits `payload` into ceil(length / maxChunkBytes) chunks (at least one) of at most
 * `maxChunkBytes` bytes each, every one carrying the header of the whole.
 */
export function splitPayload(
  payload: Uint8Array,
  { maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES }: { maxChunkBytes?: number } = {},
): PayloadChunk[] {
  checkMaxChunkBytes(maxChunkBytes);
  const totalBytes = payload.length;
  const count = Math.max(1, Math.ceil(totalBytes / maxChunkBytes));
  const parts = Array.from({ length: count }, (_, index) => {
    const data = payload.subarray(
      index * maxChunkBytes,
      Math.min(totalBytes, (index + 1) * maxChunkBytes),
    );
    return { data, chunkChecksum: crc32(data) };
  });
  const checksum = parts.reduce(
    (whole, { data, chunkChecksum }) => crc32Combine(whole, chunkChecksum, data.length),
    0,
  );
  return parts.map(({ data, chunkChecksum }, index) => ({
    index,
    count,
    totalBytes,
    checksum,
    chunkChecksum,
    data,
  }));
}

/** What went wrong with a chunk or a set of chunks. */
export type ChunkErrorKind =
  /** A set was dropped before all its chunks arrived (too old, or memory bound). */
  | 'missing'
  /** A chunk index arrived twice, or a chunk of a set that was already completed. */
  | 'duplicate'
  /** A chunk's data does not match its checksum, or the assembled payload does not match. */
  | 'corrupt'
  /** A chunk's header (count, total bytes, checksum, metadata) disagrees with its set's. */
  | 'mismatch'
  /** A header that no set can have (index ≥ count, more bytes than the total, too large). */
  | 'invalid';

/** A chunk (or a chunk set) was rejected or dropped. The set's label names source and id. */
export class ChunkError extends CodecError {
  readonly kind: ChunkErrorKind;
  readonly source: string;
  readonly id: string;
  readonly index: number | undefined;

  constructor(
    kind: ChunkErrorKind,
    {
      source,
      id,
      index,
      message,
    }: { source: string; id: string; index?: number | undefined; message: string },
  ) {
    super(
      `${kind} chunk${index === undefined ? 's' : ` ${index}`} of ${abbreviate(source)}#${abbreviate(id)}: ${message}`,
    );
    this.kind = kind;
    // Sources and ids of sets are at most MAX_SET_LABEL_CHARS; a longer one is rejected, and the
    // error (often logged with its properties) must not carry all of it.
    this.source = abbreviate(source, MAX_SET_LABEL_CHARS);
    this.id = abbreviate(id, MAX_SET_LABEL_CHARS);
    this.index = index;
  }
}

/** An incomplete set the assembler gave up on. */
export interface DroppedChunkSet {
  readonly source: string;
  readonly id: string;
  readonly reason: 'expired' | 'memory';
  readonly ageMs: number;
  readonly count: number;
  readonly received: number;
  /** Indexes of the chunks that never arrived (the first 10,000 when more). */
  readonly missing: number[];
  /** A 'missing' ChunkError describing the loss, for logs. */
  readonly error: ChunkError;
}

export interface ChunkAssemblerOptions {
  /** Incomplete sets whose first chunk arrived longer ago than this are dropped (default 60 s). */
  readonly maxAgeMs?: number;
  /**
   * Bytes held in incomplete sets (their data, source and id); beyond it the oldest sets are
   * dropped (default 256 MiB).
   */
  readonly maxPendingBytes?: number;
  /**
   * Chunks held in incomplete sets; beyond it the oldest sets are dropped (default 65,536: 59 GB
   * of 900 KB chunks). Bounds the bookkeeping of many small chunks, which their bytes do not.
   */
  readonly maxPendingChunks?: number;
  /** Completed set ids remembered to report late duplicates (default 1024). */
  readonly rememberCompleted?: number;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
  /** Told about every dropped set (also counted in `stats`). */
  readonly onDrop?: (dropped: DroppedChunkSet) => void;
}

export interface ChunkAssemblerStats {
  /** Incomplete sets held, their bytes (data, source and id) and their chunks. */
  readonly pendingSets: number;
  readonly pendingBytes: number;
  readonly pendingChunks: number;
  readonly completed: number;
  readonly droppedExpired: number;
  readonly droppedMemory: number;
  readonly duplicates: number;
  readonly corrupt: number;
  readonly mismatched: number;
  readonly invalid: number;
}

type Counter = Exclude<keyof ChunkAssemblerStats, 'pendingSets' | 'pendingBytes' | 'pendingChunks'>;

interface PendingSet {
  readonly source: string;
  readonly id: string;
  readonly firstSeenMs: number;
  readonly count: number;
  readonly totalBytes: number;
  readonly checksum: number;
  readonly meta: string | undefined;
  readonly chunks: Map<number, Uint8Array>;
  /** The verified crc32 of each chunk's data: the payload's checksum follows from them. */
  readonly chunkChecksums: Map<number, number>;
  /** Data bytes received. */
  bytes: number;
  /** What the set's source and id take (UTF-16), charged to the memory bound with its data. */
  readonly keyBytes: number;
}

/**
 * Reassembles chunked payloads per (source, id) — e.g. (worker id, step) for gradients, (model
 * id, version) for parameters — from chunks arriving in any order, interleaved across sets.
 *
 * `add` returns the payload once the last chunk of its set arrives (after checking the whole
 * payload's checksum), and `undefined` before. A bad chunk throws a ChunkError (kind 'corrupt',
 * 'duplicate', 'mismatch' or 'invalid') and leaves its set as it was, so the caller can log it
 * and go on: a redelivered chunk (Kafka is at-least-once) is a 'duplicate' to ignore.
 * Memory is bounded: incomplete sets older than `maxAgeMs` or beyond `maxPendingBytes` are
 * dropped (checked on every `add` and by `expire()`), counted and reported with their missing
 * chunk indexes.
 */
export class ChunkAssembler {
  private readonly maxAgeMs: number;
  private readonly maxPendingBytes: number;
  private readonly maxPendingChunks: number;
  private readonly rememberCompleted: number;
  private readonly now: () => number;
  private readonly onDrop: ((dropped: DroppedChunkSet) => void) | undefined;
  /** Insertion order = order of first chunk arrival (oldest first). */
  private readonly pending = new Map<string, PendingSet>();
  private readonly completedIds = new Set<string>();
  private pendingBytes = 0;
  private pendingChunks = 0;
  private readonly counts: Record<Counter, number> = {
    completed: 0,
    droppedExpired: 0,
    droppedMemory: 0,
    duplicates: 0,
    corrupt: 0,
    mismatched: 0,
    invalid: 0,
  };

  constructor({
    maxAgeMs = 60_000,
    maxPendingBytes = 256 * 1024 * 1024,
    maxPendingChunks = 65_536,
    rememberCompleted = 1024,
    now = Date.now,
    onDrop,
  }: ChunkAssemblerOptions = {}) {
    this.maxAgeMs = maxAgeMs;
    this.maxPendingBytes = maxPendingBytes;
    this.maxPendingChunks = maxPendingChunks;
    this.rememberCompleted = rememberCompleted;
    this.now = now;
    this.onDrop = onDrop;
  }

  /**
   * Adds one chunk of set (source, id) like addParts, and returns the whole payload as one
   * buffer (a copy of the parts) when this chunk completes the set.
   */
  add(
    source: string,
    id: string | number,
    chunk: PayloadChunk,
    meta?: string,
  ): Uint8Array | undefined {
    const parts = this.addParts(source, id, chunk, meta);
    if (parts === undefined) return undefined;
    if (parts.length === 1) return parts[0]!;
    const payload = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      payload.set(part, offset);
      offset += part.length;
    }
    return payload;
  }

  /**
   * Adds one chunk of set (source, id). `meta` is any other per-set header (e.g. parameter
   * version and token count of a gradient) that every chunk of the set must repeat exactly.
   * Returns the chunks' data in order (the payload's consecutive parts, checked against the whole
   * payload's checksum) when this chunk completes the set: a large payload need not be copied
   * into one buffer to be decoded (see decodeTensorSet).
   */
  addParts(
    source: string,
    id: string | number,
    chunk: PayloadChunk,
    meta?: string,
  ): Uint8Array[] | undefined {
    const setId = String(id);
    const { index, count, totalBytes, checksum, chunkChecksum, data } = chunk;
    const fail = (kind: ChunkErrorKind, message: string, counter: Counter): never => {
      this.counts[counter]++;
      throw new ChunkError(kind, { source, id: setId, index, message });
    };

    if (source.length > MAX_SET_LABEL_CHARS || setId.length > MAX_SET_LABEL_CHARS) {
      fail(
        'invalid',
        `a source or id of ${Math.max(source.length, setId.length)} characters is longer than ${MAX_SET_LABEL_CHARS} (fix: use a shorter worker id or model id)`,
        'invalid',
      );
    }
    if (
      !Number.isSafeInteger(count) ||
      count < 1 ||
      !Number.isSafeInteger(index) ||
      index < 0 ||
      index >= count
    ) {
      fail('invalid', `index ${index} is not in [0, count) with count ${count}`, 'invalid');
    }
    if (
      !Number.isSafeInteger(totalBytes) ||
      totalBytes < 0 ||
      data.length > totalBytes ||
      count > Math.max(1, totalBytes)
    ) {
      fail(
        'invalid',
        `${data.length} bytes in ${count} chunks do not fit a payload of ${totalBytes} bytes`,
        'invalid',
      );
    }
    // The encoder gives every chunk of a multi-chunk set at least one byte; empty ones would
    // cost bookkeeping without counting against maxPendingBytes.
    if (data.length === 0 && count > 1)
      fail(
        'invalid',
        `an empty chunk in a set of ${count} chunks, which no rnnstream encoder writes (fix: find what else produces to this topic)`,
        'invalid',
      );
    if (totalBytes > this.maxPendingBytes) {
      fail(
        'invalid',
        `payload of ${totalBytes} bytes exceeds the assembler's limit of ${this.maxPendingBytes} bytes (maxPendingBytes)`,
        'invalid',
      );
    }
    const actual = crc32(data);
    if (actual !== chunkChecksum >>> 0) {
      fail(
        'corrupt',
        `data crc32 ${hex(actual)} does not match the chunk's checksum ${hex(chunkChecksum)} (${data.length} bytes; count ${count})`,
        'corrupt',
      );
    }

    this.expire();
    const key = `${source}\u0000${setId}`;
    if (this.completedIds.has(key))
      fail(
        'duplicate',
        `the set was already completed (redelivered chunk; ignore it)`,
        'duplicates',
      );

    let set = this.pending.get(key);
    if (set) {
      const theirs = `count ${count}, total ${totalBytes} bytes, checksum ${hex(checksum)}${meta === undefined ? '' : `, ${meta}`}`;
      const ours = `count ${set.count}, total ${set.totalBytes} bytes, checksum ${hex(set.checksum)}${set.meta === undefined ? '' : `, ${set.meta}`}`;
      if (theirs !== ours)
        fail(
          'mismatch',
          `header says ${theirs} but earlier chunks of the set said ${ours}`,
          'mismatched',
        );
      const previous = set.chunks.get(index);
      if (previous) {
        const same = previous.length === data.length && previous.every((b, i) => b === data[i]);
        fail(
          'duplicate',
          `chunk ${index} of ${count} arrived twice${same ? '' : ' with different content'}`,
          'duplicates',
        );
      }
      if (set.bytes + data.length > set.totalBytes) {
        fail(
          'invalid',
          `the set's chunks would hold ${set.bytes + data.length} bytes, more than its total of ${set.totalBytes}`,
          'invalid',
        );
      }
    } else {
      set = {
        source,
        id: setId,
        firstSeenMs: this.now(),
        count,
        totalBytes,
        checksum: checksum >>> 0,
        meta,
        chunks: new Map(),
        chunkChecksums: new Map(),
        bytes: 0,
        keyBytes: 2 * key.length,
      };
      this.pending.set(key, set);
      this.pendingBytes += set.keyBytes;
    }
    set.chunks.set(index, data);
    set.chunkChecksums.set(index, actual);
    set.bytes += data.length;
    this.pendingBytes += data.length;
    this.pendingChunks++;

    if (set.chunks.size === set.count) return this.complete(key, set);
    this.enforceMemoryBound();
    return undefined;
  }

  /** Drops incomplete sets older than maxAgeMs; returns what was dropped. */
  expire(): DroppedChunkSet[] {
    const now = this.now();
    const dropped: DroppedChunkSet[] = [];
    // Sets are held oldest first: stop at the first young one, so that every add does not walk
    // all pending sets (quadratic for a flood of one-chunk sets).
    for (const [key, set] of this.pending) {
      if (now - set.firstSeenMs <= this.maxAgeMs) break;
      dropped.push(this.drop(key, set, 'expired', now));
    }
    return dropped;
  }

  /** Whether an incomplete set (source, id) is held (cheaper than `missing` for a huge count). */
  isPending(source: string, id: string | number): boolean {
    return this.pending.has(`${source}\u0000${String(id)}`);
  }

  /** Indexes still missing from an incomplete set, or undefined when no such set is pending. */
  missing(source: string, id: string | number): number[] | undefined {
    const set = this.pending.get(`${source}\u0000${String(id)}`);
    return set ? missingIndexes(set) : undefined;
  }

  get stats(): ChunkAssemblerStats {
    return {
      pendingSets: this.pending.size,
      pendingBytes: this.pendingBytes,
      pendingChunks: this.pendingChunks,
      ...this.counts,
    };
  }

  private complete(key: string, set: PendingSet): Uint8Array[] {
    this.forget(key, set);
    const fail = (message: string): never => {
      this.counts.corrupt++;
      throw new ChunkError('corrupt', { source: set.source, id: set.id, message });
    };
    if (set.bytes !== set.totalBytes)
      fail(
        `all ${set.count} chunks arrived but hold ${set.bytes} bytes, not the header's ${set.totalBytes}; the set is dropped`,
      );
    const parts: Uint8Array[] = [];
    let actual = 0;
    for (let i = 0; i < set.count; i++) {
      const part = set.chunks.get(i)!;
      actual = crc32Combine(actual, set.chunkChecksums.get(i)!, part.length);
      parts.push(part);
    }
    if (actual !== set.checksum)
      fail(
        `assembled payload crc32 ${hex(actual)} does not match the header's ${hex(set.checksum)}; the set is dropped`,
      );
    this.counts.completed++;
    this.completedIds.add(key);
    if (this.completedIds.size > this.rememberCompleted)
      this.completedIds.delete(this.completedIds.values().next().value!);
    return parts;
  }

  private enforceMemoryBound(): void {
    const now = this.now();
    for (const [key, set] of this.pending) {
      if (this.pendingBytes <= this.maxPendingBytes && this.pendingChunks <= this.maxPendingChunks)
        break;
      this.drop(key, set, 'memory', now);
    }
  }

  private drop(
    key: string,
    set: PendingSet,
    reason: 'expired' | 'memory',
    now: number,
  ): DroppedChunkSet {
    const ageMs = now - set.firstSeenMs;
    const why =
      reason === 'expired'
        ? `incomplete after ${ageMs} ms (maxAgeMs ${this.maxAgeMs})`
        : this.pendingBytes > this.maxPendingBytes
          ? `incomplete when pending chunks exceeded ${this.maxPendingBytes} bytes (maxPendingBytes)`
          : `incomplete when more than ${this.maxPendingChunks} chunks were pending (maxPendingChunks)`;
    this.forget(key, set);
    if (reason === 'expired') this.counts.droppedExpired++;
    else this.counts.droppedMemory++;
    const missing = missingIndexes(set);
    const error = new ChunkError('missing', {
      source: set.source,
      id: set.id,
      message: `set dropped, ${why}: missing chunk${missing.length === 1 ? '' : 's'} ${formatIndexes(missing)} of ${set.count} (indexes from 0) (received ${set.chunks.size}, ${set.bytes} of ${set.totalBytes} bytes)`,
    });
    const dropped: DroppedChunkSet = {
      source: set.source,
      id: set.id,
      reason,
      ageMs,
      count: set.count,
      received: set.chunks.size,
      missing,
      error,
    };
    this.onDrop?.(dropped);
    return dropped;
  }

  private forget(key: string, set: PendingSet): void {
    this.pending.delete(key);
    this.pendingBytes -= set.bytes + set.keyBytes;
    this.pendingChunks -= set.chunks.size;
  }
}

/** Up to MAX_LISTED_MISSING indexes not yet received, ascending. */
function missingIndexes(set: PendingSet): number[] {
  const missing: number[] = [];
  for (let i = 0; i < set.count && missing.length < MAX_LISTED_MISSING; i++)
    if (!set.chunks.has(i)) missing.push(i);
  return missing;
}

const MAX_LISTED_MISSING = 10_000;

function formatIndexes(indexes: number[]): string {
  return indexes.length > 20
    ? `${indexes.slice(0, 20).join(', ')}, … (${indexes.length} in all)`
    : indexes.join(', ');
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Reassembles one complete chunk list given in any order (the batch form of an assembler):
 * returns the first completed value, or throws ChunkError 'missing' naming the absent chunks.
 */
export function assembleCompleteChunkList<T>(
  chunks: Iterable<Uint8Array>,
  {
    what,
    identify,
    add,
    missing,
  }: {
    /** e.g. "gradient", for the error message. */
    what: string;
    /** Source, id and chunk count of one encoded chunk. */
    identify: (bytes: Uint8Array) => { source: string; id: number; count: number };
    add: (bytes: Uint8Array) => T | undefined;
    missing: (source: string, id: number) => number[] | undefined;
  },
): T {
  let first: { source: string; id: number; count: number } | undefined;
  for (const bytes of chunks) {
    first ??= identify(bytes);
    const done = add(bytes);
    if (done) return done;
  }
  if (!first) throw new CodecError(`no ${what} chunks to decode`);
  const absent = missing(first.source, first.id) ?? [];
  throw new ChunkError('missing', {
    source: first.source,
    id: String(first.id),
    message: `chunk${absent.length === 1 ? '' : 's'} ${formatIndexes(absent)} of ${first.count} not among the ${first.count - absent.length} given`,
  });
}
