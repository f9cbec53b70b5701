import { encodeKeyState, type KeyStateRecord } from '../../shared/codec/index.js';
import type { FeatureNormalizerJson } from '../../shared/events/feature-normalizer.js';
import { normalizerRecordKey, progressRecordKey } from '../../shared/learner/state-changelog.js';
import type { OutgoingRecord } from '../../shared/transport/kafka/index.js';

/**
 * The records a worker writes to `<app>.state-changelog`. Their keys, and the reading side (one
 * record's checks, the restore fold), are in shared/learner/state-changelog.ts, which the decoder
 * reads the changelog with too.
 */

/**
 * A key's state, to the changelog partition of the events partition it came from (the same one
 * the key hashes to, as the topics are co-partitioned; given explicitly so that restore reads it
 * where it was written, and the producer need not hash every key again).
 */
export function keyStateOutgoing(record: KeyStateRecord, partition: number): OutgoingRecord {
  return { key: record.key, value: encodeKeyState(record), partition };
}

/** The partition's progress record: `nextOffset` is the first events offset not processed yet. */
export function progressOutgoing(partition: number, nextOffset: number): OutgoingRecord {
  return {
    key: progressRecordKey(partition),
    value: new TextEncoder().encode(JSON.stringify({ nextOffset })),
    partition,
  };
}

/** A tombstone: the key was evicted, compaction forgets it. */
export function tombstoneOutgoing(key: string, partition: number): OutgoingRecord {
  return { key, value: null, partition };
}

export function normalizerOutgoing(partition: number, json: FeatureNormalizerJson): OutgoingRecord {
  return {
    key: normalizerRecordKey(partition),
    value: new TextEncoder().encode(JSON.stringify(json)),
    partition,
  };
}
