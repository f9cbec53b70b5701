import { randomBytes } from 'node:crypto';

import { Float32ArrayPool } from '../../shared/codec/float32-array-pool.js';
import { GradientIntake } from '../../shared/paramserver/index.js';
import {
  createKafkaBus,
  deleteGroupsWithPrefix,
  type KafkaBusRecord,
} from '../../shared/transport/kafka/index.js';
import { createRecordHandler } from './record-handler.js';
import type { RestoredServer } from './restore-server.js';
import type { ServiceContext } from './service-context.js';

/** The paramserver's intake of `<app>.gradients`. */
export interface GradientReader {
  readonly intake: GradientIntake;
  /** Feeds one record into the server; true when it completed a gradient accepted for the open round. */
  handleRecord(record: KafkaBusRecord): boolean;
  /** The topic's records in batches, from the start state's resume offsets, until stop(). */
  batches(): AsyncIterable<ReadonlyArray<KafkaBusRecord>>;
  stop(): Promise<void>;
}

/**
 * Gradient consumption: a consumer group of its own per start, positioned at the resume offsets
 * before it joins — no wait for a killed predecessor's membership to expire, and no offsets ever
 * committed by the reader (the publisher commits them with each version) — and a GradientIntake
 * that reassembles chunks into pooled arrays and tracks where a restart must read from.
 */
export async function openGradientReader(
  { config, modelId, client, admin, topics, metrics, log, defer }: ServiceContext,
  { server, start, publisher }: RestoredServer,
): Promise<GradientReader> {
  const readerPrefix = `${config.app}.paramserver.${modelId}.reader.`;
  const readerGroup = `${readerPrefix}${Date.now()}-${randomBytes(3).toString('hex')}`;
  await publisher.presetGroupOffsets({
    admin,
    groupId: readerGroup,
    offsets: start.gradientOffsets,
  });
  // Gradients are model-sized sets of 900 KB chunks: fetch several per partition and round trip.
  const bus = createKafkaBus({
    client,
    groupId: readerGroup,
    maxWaitTimeMs: 100,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
  });
  defer(() => bus.disconnect());
  // Earlier starts' reader groups (their offsets are never used again).
  deleteGroupsWithPrefix({ admin, prefix: readerPrefix, keep: readerGroup }).then(
    (deleted) => deleted.length > 0 && log.debug({ deleted }, 'old reader groups deleted'),
    (error: unknown) => log.debug({ err: error }, 'old reader groups not deleted'),
  );

  const intake = new GradientIntake({
    isSeen: (workerId, step) => server.hasSeen(workerId, step),
    startOffsets: start.gradientOffsets,
    // Every worker of a sync round sends at once: room for many incomplete gradients.
    assembler: { maxPendingBytes: 1024 ** 3 },
    // A round's gradients are reassembled into the arrays the previous round released.
    arrays: new Float32ArrayPool({ maxRetainedBytes: 512 * 1024 ** 2 }),
    onIncomplete: (dropped) => {
      metrics.gradientSetsIncomplete.inc({ reason: dropped.reason });
      log.warn({ err: dropped.error }, 'incomplete gradient dropped');
    },
  });
  return {
    intake,
    handleRecord: createRecordHandler({ server, intake, metrics, log }),
    batches: () =>
      bus.consumer({ commit: 'caller' }).batches({ topic: topics.gradients, maxBatchSize: 256 }),
    stop: () => bus.disconnect(),
  };
}
