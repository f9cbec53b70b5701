import type { KeyStateRecord } from '../../shared/codec/index.js';
import type { FeatureNormalizerJson } from '../../shared/events/feature-normalizer.js';
import { withEmptyConvContext } from '../../shared/learner/conv-context-upgrade.js';
import { keySnapshotProblem } from '../../shared/learner/key-snapshot-check.js';
import { snapshotOfKeyState } from '../../shared/learner/key-state-mapping.js';
import {
  isSystemKey,
  normalizerRecordKey,
  progressRecordKey,
  readKeyStateRecord,
  readNormalizerRecord,
  readProgressRecord,
} from '../../shared/learner/state-changelog.js';
import type { ModelSpec } from '../../shared/model/model-spec.js';
import type { KeySequenceSnapshot } from '../../shared/tbptt/key-sequence.js';
import type { WindowSchedule } from '../../shared/tbptt/window-schedule.js';
import type { KafkaBusRecord } from '../../shared/transport/kafka/index.js';

/** What a key state must fit to be usable by this model (what the worker's restore checks). */
export interface SnapshotShape {
  readonly spec: ModelSpec;
  readonly stateSize: number;
  /** The workers' window schedule (tbptt.k1/k2, task.maxSequenceSteps): fixes what a key stores. */
  readonly schedule: WindowSchedule;
}

/** A record the store skipped: its key, and why. */
export type CorruptRecordListener = (key: string, error: Error) => void;

/**
 * One changelog partition as compaction would leave it (the latest record per key, tombstones
 * delete), kept in memory by the decoder's state view. It holds each live key's latest value as
 * the bytes that came from the topic and decodes a key only when it is looked up: a restore
 * passes over many superseded records per key, most keys are never asked for, and the encoded
 * record is the smallest form of a state (no per-step objects). The bytes are copied, because a
 * fetched record's bytes may be a view into the whole fetch response.
 */
export class ChangelogPartitionStore {
  readonly partition: number;
  private readonly shape: SnapshotShape;
  private readonly onCorrupt: CorruptRecordListener;
  private readonly values = new Map<string, Uint8Array>();
  private normalizerBytes: Uint8Array | undefined;
  private normalizerJson: FeatureNormalizerJson | undefined;
  private progress = -1;
  private corruptCount = 0;

  constructor({
    partition,
    shape,
    onCorrupt,
  }: {
    partition: number;
    shape: SnapshotShape;
    onCorrupt: CorruptRecordListener;
  }) {
    this.partition = partition;
    this.shape = shape;
    this.onCorrupt = onCorrupt;
  }

  /** Live keys held (a corrupt one counts until it is looked up). */
  get size(): number {
    return this.values.size;
  }

  /** Records found corrupt or unusable so far (each one skipped). */
  get corrupt(): number {
    return this.corruptCount;
  }

  /** The partition's progress record (the first events offset not yet processed), -1 if none. */
  get eventsOffset(): number {
    return this.progress;
  }

  /** Applies one record of this partition (records come in offset order). */
  apply(record: KafkaBusRecord): void {
    const { key } = record;
    if (isSystemKey(key)) {
      this.applySystem(record);
      return;
    }
    if (record.tombstone) this.values.delete(key);
    else this.values.set(key, record.value.slice());
  }

  /**
   * The key's latest state, decoded and checked; undefined when the key was never written,
   * was evicted (tombstone), or its record is corrupt or unusable by this model (then it is
   * counted, reported and forgotten, so a key's bad record counts once).
   */
  lookup(key: string): { record: KeyStateRecord; snapshot: KeySequenceSnapshot } | undefined {
    const bytes = isSystemKey(key) ? undefined : this.values.get(key);
    if (bytes === undefined) return undefined;
    try {
      const record = readKeyStateRecord(key, bytes);
      const snapshot = withEmptyConvContext(snapshotOfKeyState(record), this.shape.spec);
      const problem = keySnapshotProblem(snapshot, this.shape);
      if (problem !== undefined)
        throw new Error(`stored state of this key cannot be used by the model: ${problem}`);
      return { record, snapshot };
    } catch (error) {
      this.values.delete(key);
      this.skip(key, error as Error);
      return undefined;
    }
  }

  /** The feature normaliser's statistics the worker last wrote for this partition. */
  normalizer(): FeatureNormalizerJson | undefined {
    if (this.normalizerJson === undefined && this.normalizerBytes !== undefined) {
      try {
        this.normalizerJson = readNormalizerRecord(this.normalizerBytes);
      } catch (error) {
        this.skip(normalizerRecordKey(this.partition), error as Error);
      }
      this.normalizerBytes = undefined;
    }
    return this.normalizerJson;
  }

  private applySystem(record: KafkaBusRecord): void {
    const { key } = record;
    if (key === normalizerRecordKey(this.partition)) {
      this.normalizerJson = undefined;
      this.normalizerBytes = record.tombstone ? undefined : record.value.slice();
    } else if (key === progressRecordKey(this.partition) && !record.tombstone) {
      try {
        // Progress only grows (as in the worker's restore fold).
        this.progress = Math.max(this.progress, readProgressRecord(record.value));
      } catch (error) {
        this.skip(key, error as Error);
      }
    }
  }

  private skip(key: string, error: Error): void {
    this.corruptCount++;
    this.onCorrupt(key, error);
  }
}
