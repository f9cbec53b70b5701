import {
  encodeKeyState,
  keyStateBytesBound,
  MAX_KEY_STATE_RECORD_BYTES,
  type KeyStateRecord,
} from '../../shared/codec/index.js';
import type { Config } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import type { FeatureNormalizerJson } from '../../shared/events/feature-normalizer.js';
import { stepLayoutOf } from '../../shared/learner/key-state-mapping.js';
import { normalizerRecordKey, progressRecordKey } from '../../shared/learner/state-changelog.js';
import { stateSize, type ModelSpec } from '../../shared/model/model-spec.js';
import type { WindowSchedule } from '../../shared/tbptt/window-schedule.js';
import type { OutgoingRecord } from '../../shared/transport/kafka/index.js';

/**
 * The records a worker writes to `<app>.state-changelog`. Their keys, and the reading side (one
 * record's checks, the restore fold), are in shared/learner/state-changelog.ts, which the decoder
 * reads the changelog with too.
 */

/**
 * The largest record a key of this configuration can need, and a ConfigError (thrown) when that
 * exceeds MAX_KEY_STATE_RECORD_BYTES: the broker would refuse it and the worker's transaction
 * with it. The step buffer dominates: task.maxSequenceSteps steps for classify, max(k1, k2)
 * otherwise, each `input.featureSize` floats for features input.
 */
export function checkKeyStateRecordSize({
  config,
  spec,
  schedule,
}: {
  config: Config;
  spec: ModelSpec;
  schedule: WindowSchedule;
}): number {
  const bound = (steps: number) =>
    keyStateBytesBound({
      keyBytes: config.limits.maxKeyBytes,
      stateFloats: stateSize(spec),
      windowStarts: schedule.maxWindowStarts,
      steps,
      ...stepLayoutOf(spec),
    });
  const bytes = bound(schedule.bufferSteps);
  if (bytes <= MAX_KEY_STATE_RECORD_BYTES) return bytes;
  // The bound grows by the same bytes per step.
  const fits = Math.max(
    0,
    Math.floor((MAX_KEY_STATE_RECORD_BYTES - bound(0)) / (bound(1) - bound(0))),
  );
  const setting =
    schedule.kind !== 'truncated'
      ? `task.maxSequenceSteps = ${config.task.maxSequenceSteps}`
      : `tbptt.k1 = ${config.tbptt.k1}, tbptt.k2 = ${config.tbptt.k2}`;
  throw new ConfigError(
    `${setting}: a key stores ${schedule.bufferSteps} steps, so its state changelog record can reach ${bytes} bytes, more than the ${MAX_KEY_STATE_RECORD_BYTES} a Kafka record may have (the broker's default max.message.bytes is 1 MiB) (fix: ${schedule.kind !== 'truncated' ? 'lower task.maxSequenceSteps' : 'lower tbptt.k2'} to ${fits} or less, or use fewer features or a smaller model state)`,
  );
}

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
