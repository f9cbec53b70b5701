import {
  ChunkError,
  type ChunkAssemblerOptions,
  type ChunkErrorKind,
  type DroppedChunkSet,
} from '../codec/chunking.js';
import type { Float32ArrayPool } from '../codec/float32-array-pool.js';
import {
  decodeGradientChunk,
  GradientAssembler,
  type DecodedGradient,
} from '../codec/gradient-codec.js';
import type { GradientPosition } from './parameter-server.js';

/**
 * Why a GradientChunk record could not be used: not a GradientChunk at all, or the kind of
 * ChunkError it caused (dropped sets go to onIncomplete instead). The service counts by these.
 */
export type ChunkRejection = 'undecodable' | Exclude<ChunkErrorKind, 'missing'>;

/** One record of `<app>.gradients` as consumed (the fields of a KafkaBusRecord this needs). */
export interface GradientRecordIn {
  readonly partition: number;
  readonly offset: number;
  /** Offset to read next once this record is processed. */
  readonly nextOffset: number;
  readonly value: Uint8Array;
  readonly tombstone?: boolean;
}

export type IntakeResult =
  /** The record completed a gradient; `position` is where its first chunk was. */
  | {
      readonly kind: 'gradient';
      /** `release` gives its arrays back to the intake's pool: call it once they are unused. */
      readonly gradient: DecodedGradient & { readonly release: () => void };
      readonly position: GradientPosition;
    }
  /** A chunk of a gradient still incomplete. */
  | { readonly kind: 'partial' }
  /** A chunk of a gradient already processed or pending; `lastChunk` marks the end of its set. */
  | {
      readonly kind: 'duplicate';
      readonly workerId: string;
      readonly step: number;
      readonly lastChunk: boolean;
    }
  | { readonly kind: 'rejected'; readonly rejection: ChunkRejection; readonly error: Error }
  /** A tombstone (null value): nothing to do. */
  | { readonly kind: 'ignored' };

/**
 * Turns GradientChunk records into gradients and keeps track of where a restart must read from.
 * Chunks of a (worker, step) already processed are skipped before reassembly (`isSeen`); bad
 * chunks are reported, never thrown. For every partition the resume offset is the smallest of:
 * the next offset to read, the first chunk of every incomplete set, and the first chunk of every
 * gradient held elsewhere (pending in a round) — so no gradient is lost across a restart.
 */
export class GradientIntake {
  private readonly assembler: GradientAssembler;
  private readonly isSeen: (workerId: string, step: number) => boolean;
  private readonly consumed = new Map<number, number>();
  /** First-chunk positions of incomplete sets by `workerId \0 step`. */
  private readonly open = new Map<string, GradientPosition>();
  private readonly arrays: Float32ArrayPool | undefined;

  constructor({
    isSeen,
    startOffsets,
    assembler = {},
    arrays,
    onIncomplete,
  }: {
    isSeen: (workerId: string, step: number) => boolean;
    /** Where reading starts, per partition (the resume offsets of the checkpoint). */
    startOffsets: Iterable<GradientPosition>;
    assembler?: Omit<ChunkAssemblerOptions, 'onDrop'>;
    /** Reassembled tensors are taken from here, and go back when a gradient is released. */
    arrays?: Float32ArrayPool | undefined;
    /** An incomplete set was given up (too old or over the memory bound). */
    onIncomplete?: (dropped: DroppedChunkSet) => void;
  }) {
    this.isSeen = isSeen;
    for (const { partition, offset } of startOffsets) this.consumed.set(partition, offset);
    this.arrays = arrays;
    this.assembler = new GradientAssembler({
      ...assembler,
      ...(arrays ? { allocate: (elements: number) => arrays.take(elements) } : {}),
      onDrop: (dropped) => {
        this.open.delete(`${dropped.source}\u0000${dropped.id}`);
        onIncomplete?.(dropped);
      },
    });
  }

  add(record: GradientRecordIn): IntakeResult {
    const { partition, offset, nextOffset } = record;
    this.consumed.set(partition, Math.max(this.consumed.get(partition) ?? 0, nextOffset));
    if (record.tombstone) return { kind: 'ignored' };
    let header;
    try {
      header = decodeGradientChunk(record.value);
    } catch (error) {
      return { kind: 'rejected', rejection: 'undecodable', error: error as Error };
    }
    const { workerId, step, chunk } = header;
    if (this.isSeen(workerId, step))
      return { kind: 'duplicate', workerId, step, lastChunk: chunk.index === chunk.count - 1 };
    const key = `${workerId}\u0000${step}`;
    if (!this.open.has(key)) this.open.set(key, { partition, offset });
    try {
      const gradient = this.assembler.add(record.value);
      if (gradient === undefined) return { kind: 'partial' };
      const position = this.open.get(key)!;
      this.open.delete(key);
      const release = () => {
        for (const { data } of gradient.tensors.values()) this.arrays?.give(data);
        gradient.tensors.clear();
      };
      return { kind: 'gradient', gradient: { ...gradient, release }, position };
    } catch (error) {
      // A rejected chunk leaves its set as it was, unless the set itself was dropped.
      if (!this.assembler.isPending(workerId, step)) this.open.delete(key);
      const rejection = error instanceof ChunkError ? chunkRejection(error) : 'undecodable';
      return { kind: 'rejected', rejection, error: error as Error };
    }
  }

  /** Gives up incomplete sets older than the assembler's age limit (call now and then). */
  expire(): DroppedChunkSet[] {
    return this.assembler.expire();
  }

  /** Per partition (ascending), the offset a restart must read from; `held` are gradients not yet applied. */
  resumeOffsets(held: Iterable<GradientPosition> = []): GradientPosition[] {
    const resume = new Map(this.consumed);
    for (const { partition, offset } of [...this.open.values(), ...held])
      resume.set(partition, Math.min(resume.get(partition) ?? offset, offset));
    return [...resume]
      .sort(([a], [b]) => a - b)
      .map(([partition, offset]) => ({ partition, offset }));
  }

  get pendingBytes(): number {
    return this.assembler.stats.pendingBytes;
  }
}

function chunkRejection(error: ChunkError): ChunkRejection {
  return error.kind === 'missing' ? 'invalid' : error.kind;
}
