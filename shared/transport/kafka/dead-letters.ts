import { describeDeadLetterError, encodeDeadLetter } from '../../codec/dead-letter-codec.js';
import { deadLetterOriginal, truncateUtf8, type InputLimits } from '../../events/input-limits.js';
import type { KafkaBusRecord, OutgoingRecord } from './kafka-messages.js';

/**
 * The `<app>.dead-letter` record of a consumed record that could not be used: its original key and
 * value bytes (of one over its limit only the first bytes, and the error says so), the reason,
 * and where it came from (topic, partition, offset, timestamp). Keyed by the original key.
 */
export function deadLetterOf({
  record,
  error,
  limits,
  tsMs,
}: {
  record: KafkaBusRecord;
  error: unknown;
  limits: Pick<InputLimits, 'maxKeyBytes' | 'maxEventBytes'>;
  tsMs: number;
}): OutgoingRecord {
  const key =
    record.keyBytes ?? (record.key === '' ? undefined : new TextEncoder().encode(record.key));
  const value = record.tombstone ? undefined : record.value;
  const { originalKey, originalValue, cutNote } = deadLetterOriginal({ key, value, limits });
  const described = describeDeadLetterError(error);
  return {
    key: truncateUtf8(record.key, limits.maxKeyBytes),
    value: encodeDeadLetter({
      originalKey,
      originalValue,
      sourceTopic: record.topic,
      partition: record.partition,
      offset: record.offset,
      ...described,
      error: described.error + cutNote,
      tsMs,
      originalTsMs: record.timestampMs,
    }),
  };
}
