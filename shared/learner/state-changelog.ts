import { decodeKeyState, type KeyStateRecord } from '../codec/index.js';
import { abbreviate } from '../errors/abbreviate.js';
import type { FeatureNormalizerJson } from '../events/feature-normalizer.js';

/**
 * The reading side of `<app>.state-changelog` (docs/design.md §4, §5): its record keys, one
 * record's checked decoding, and the fold of a partition into its latest state per key. The
 * worker restores with it; the decoder's state view reads the same records. (The worker writes
 * them: services/worker/changelog-records.ts.)
 *
 * Keys that are not sequence keys are the worker's per-partition records (progress, the feature
 * normaliser's running statistics). The NUL prefix cannot collide with an event key written by
 * `rnnstream produce`, and such a record is always written to its partition explicitly.
 */
const SYSTEM_PREFIX = '\u0000rnnstream/';

export function normalizerRecordKey(partition: number): string {
  return `${SYSTEM_PREFIX}normalizer/${partition}`;
}

export function isSystemKey(key: string): boolean {
  return key.startsWith(SYSTEM_PREFIX);
}

/**
 * The partition's progress: the first events offset not processed yet, written in every
 * transaction, so a restore knows exactly which events are already reflected (even when the key
 * of the last event was evicted since).
 */
export function progressRecordKey(partition: number): string {
  return `${SYSTEM_PREFIX}progress/${partition}`;
}

/** What restoring one changelog partition yields: the latest record of every live key. */
export interface RestoredPartition {
  readonly partition: number;
  /** Live keys, least recently seen first (the order the key store wants them back in). */
  readonly keys: readonly KeyStateRecord[];
  readonly normalizer: FeatureNormalizerJson | undefined;
  /**
   * The first events offset not yet reflected in the changelog: events below it were processed
   * by a committed transaction (transactions of one partition commit in offset order).
   */
  readonly nextOffset: number;
  /** Records that could not be decoded (skipped and logged). */
  readonly corrupt: number;
  readonly tombstones: number;
}

function beyondEnd(what: string, offset: number, eventsEndOffset: number): Error {
  return new Error(
    `${what} ${offset} is beyond the events partition's end ${eventsEndOffset}: not written by a worker of this topic`,
  );
}

/**
 * A progress record's `nextOffset`. Throws (the record is corrupt) unless it is a safe integer
 * no larger than `eventsEndOffset` (the events partition's end, when known).
 */
export function readProgressRecord(
  value: Uint8Array,
  { eventsEndOffset = Number.MAX_SAFE_INTEGER }: { eventsEndOffset?: number } = {},
): number {
  const json: unknown = JSON.parse(new TextDecoder().decode(value));
  const offset = (json as { nextOffset?: unknown } | null)?.nextOffset;
  if (!Number.isSafeInteger(offset))
    throw new Error(
      `progress record's nextOffset is ${abbreviate(String(offset))}, not a safe integer`,
    );
  if ((offset as number) > eventsEndOffset)
    throw beyondEnd("progress record's nextOffset", offset as number, eventsEndOffset);
  return offset as number;
}

/** A normaliser record, checked (throws when corrupt: see checkedNormalizer). */
export function readNormalizerRecord(value: Uint8Array): FeatureNormalizerJson {
  return checkedNormalizer(JSON.parse(new TextDecoder().decode(value)));
}

/**
 * A key's KeyState record, decoded and checked against the key it is stored under; throws
 * (CodecError or Error: the record is corrupt) otherwise, or when it claims an events offset at
 * or beyond `eventsEndOffset`. Whether the model can use its state is keySnapshotProblem's call.
 */
export function readKeyStateRecord(
  key: string,
  value: Uint8Array,
  { eventsEndOffset = Number.MAX_SAFE_INTEGER }: { eventsEndOffset?: number } = {},
): KeyStateRecord {
  const record = decodeKeyState(value);
  if (record.key !== key)
    throw new Error(
      `record of key '${abbreviate(record.key)}' is stored under key '${abbreviate(key)}'`,
    );
  if (record.inputOffset >= eventsEndOffset)
    throw beyondEnd("the key state's input offset", record.inputOffset, eventsEndOffset);
  return record;
}

/**
 * A normaliser record checked before FeatureNormalizer.fromJSON sees it: that allocates
 * `featureSize` values before comparing them with the arrays, so a corrupt featureSize of 2^40
 * would end the worker instead of this record. Throws (the record counts as corrupt) unless every
 * field has the type and range toJSON writes.
 */
function checkedNormalizer(json: unknown): FeatureNormalizerJson {
  const n = json as Partial<Record<keyof FeatureNormalizerJson, unknown>> | null;
  const isCount = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  const isNumbers = (v: unknown) =>
    Array.isArray(v) && v.length === n?.featureSize && v.every((x) => typeof x === 'number');
  if (
    typeof n !== 'object' ||
    n === null ||
    !isCount(n.featureSize, 1) ||
    typeof n.enabled !== 'boolean' ||
    !(typeof n.varianceFloor === 'number' && n.varianceFloor > 0 && n.varianceFloor < Infinity) ||
    !isCount(n.count, 0) ||
    !isNumbers(n.mean) ||
    !isNumbers(n.m2)
  )
    throw new Error(
      `normaliser record is not what FeatureNormalizer.toJSON writes (featureSize ${String(n?.featureSize).slice(0, 20)}; fields featureSize, enabled, varianceFloor, count, mean[featureSize], m2[featureSize])`,
    );
  return n as FeatureNormalizerJson;
}

/**
 * Folds a changelog partition's records (in offset order) into its latest state per key, the way
 * compaction would: a later record replaces an earlier one, a tombstone deletes the key.
 */
export class ChangelogFold {
  private readonly latest = new Map<string, Uint8Array | null>();
  private readonly partitionId: number;

  constructor(partition: number) {
    this.partitionId = partition;
  }

  add(key: string, value: Uint8Array | null): void {
    this.latest.delete(key); // re-insert: the map stays in write order
    this.latest.set(key, value);
  }

  /**
   * The partition's restored state. `eventsEndOffset` (the events partition's end) bounds the
   * offsets a record may claim: a progress record or key state beyond it was not written by a
   * worker of this topic, and trusting it would make the worker pass over events as "already
   * processed" — it is counted as corrupt instead.
   */
  finish(
    onCorrupt: (key: string, error: Error) => void,
    { eventsEndOffset = Number.MAX_SAFE_INTEGER }: { eventsEndOffset?: number } = {},
  ): RestoredPartition {
    const keys: KeyStateRecord[] = [];
    let normalizer: FeatureNormalizerJson | undefined;
    let nextOffset = 0;
    let corrupt = 0;
    let tombstones = 0;
    for (const [key, value] of this.latest) {
      if (value === null) {
        tombstones++;
        continue;
      }
      try {
        if (isSystemKey(key)) {
          if (key === normalizerRecordKey(this.partitionId))
            normalizer = readNormalizerRecord(value);
          else if (key === progressRecordKey(this.partitionId))
            nextOffset = Math.max(nextOffset, readProgressRecord(value, { eventsEndOffset }));
          else JSON.parse(new TextDecoder().decode(value)); // another system record: JSON too
          continue;
        }
        const record = readKeyStateRecord(key, value, { eventsEndOffset });
        keys.push(record);
        nextOffset = Math.max(nextOffset, record.inputOffset + 1);
      } catch (error) {
        corrupt++;
        onCorrupt(key, error as Error);
      }
    }
    keys.sort((a, b) => a.lastSeenMs - b.lastSeenMs);
    return { partition: this.partitionId, keys, normalizer, nextOffset, corrupt, tombstones };
  }
}
