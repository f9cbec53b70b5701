import { isUtf8 } from 'node:buffer';

import { decodeEventPayload } from '../../shared/codec/index.js';
import { InputError } from '../../shared/errors/index.js';
import { renderValue } from '../../shared/errors/render-value.js';
import { limitError, type InputLimits } from '../../shared/events/input-limits.js';
import type { StreamEvent } from '../../shared/events/stream-event.js';
import type { KafkaBusRecord } from '../../shared/transport/kafka/index.js';

/**
 * The event a record carries. The message key must be the event's key: the key decides the
 * partition, and with it which worker owns the sequence and where its changelog record lands.
 */
export function decodeRecordEvent(record: KafkaBusRecord, limits: InputLimits): StreamEvent {
  if (record.tombstone)
    throw new InputError({
      reason: 'the message value is null',
      fix: 'send an Event protobuf or a JSON event as the value',
    });
  const fix =
    'produce every event with the Kafka message key set to its "key" (rnnstream produce does)';
  const keyBytes = record.keyBytes?.length ?? Buffer.byteLength(record.key, 'utf8');
  if (keyBytes > limits.maxKeyBytes)
    throw limitError({
      what: 'the message key',
      size: keyBytes,
      unit: 'bytes',
      limit: 'maxKeyBytes',
      limits,
    });
  if (record.keyBytes !== undefined && !isUtf8(record.keyBytes))
    throw new InputError({ reason: 'the message key is not valid UTF-8', fix });
  const event = decodeEventPayload(record.value, limits);
  if (record.key === '')
    throw new InputError({
      reason: `the message has no key (event key ${renderValue(event.key)})`,
      fix,
    });
  if (record.key !== event.key)
    throw new InputError({
      reason: `the message key ${renderValue(record.key)} differs from the event's key ${renderValue(event.key)}`,
      fix,
    });
  return event;
}
