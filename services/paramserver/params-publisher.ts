import type { GradientId } from '../../shared/codec/param-codec.js';
import type { TensorValue } from '../../shared/codec/tensor-codec.js';
import type { Logger } from '../../shared/logging/index.js';
import { type GradientPosition } from '../../shared/paramserver/index.js';
import { paramRecords, paramTombstones } from '../../shared/paramserver-client/index.js';
import {
  createTransactionalProducer,
  readGroupOffsets,
  waitForGroupOffsets,
  type KafkaAdmin,
  type KafkaClient,
  type RecordSender,
  type TopicNames,
} from '../../shared/transport/kafka/index.js';

/** What the offsets group says was published last. */
export interface PublishedMarker {
  readonly version: number;
  /** Resume offsets of `<app>.gradients` committed with that version. */
  readonly gradientOffsets: GradientPosition[];
}

export interface ParamsPublisher {
  /** Consumer group whose committed `<app>.gradients` offsets mark the last published version. */
  readonly offsetsGroupId: string;
  /** Registers the transactional id: an older instance is fenced and its open transaction aborted. */
  fence(): Promise<void>;
  /** The last published version and its resume offsets, or undefined if none was ever published. */
  published(admin: KafkaAdmin): Promise<PublishedMarker | undefined>;
  /**
   * Publishes one version in one transaction: its ParamChunk records, tombstones for the version
   * `retainVersions` back, and the gradient resume offsets (metadata: the version) in the offsets
   * group. `durable` (the checkpoint write) runs meanwhile; the transaction commits only after
   * it resolved, and is aborted if it rejects.
   */
  publish(options: {
    version: number;
    tensors: ReadonlyMap<string, TensorValue>;
    /** The gradients this version applied (workers in lockstep wait for theirs). */
    applied?: readonly GradientId[] | undefined;
    /** input.tokenizer "words": the vocabulary as of this version. */
    vocabulary?: readonly string[] | undefined;
    gradientOffsets: readonly GradientPosition[];
    durable?: Promise<unknown>;
  }): Promise<{ bytes: number; chunks: number }>;
  /** Commits `offsets` for a fresh consumer group and waits until they are readable. */
  presetGroupOffsets(options: {
    admin: KafkaAdmin;
    groupId: string;
    offsets: readonly GradientPosition[];
  }): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * The paramserver's only writer to Kafka. Everything a version changes in Kafka — the version on
 * `<app>.params` and the gradient positions it consumed — commits atomically, so after a crash
 * the offsets group tells exactly which version was last published.
 */
export function createParamsPublisher({
  client,
  app,
  topics,
  modelId,
  logger,
  retainVersions = 2,
}: {
  client: KafkaClient;
  app: string;
  topics: TopicNames;
  modelId: string;
  logger: Logger;
  /** Versions kept on the compacted topic (older ones get tombstones). */
  retainVersions?: number;
}): ParamsPublisher {
  const id = `${app}.paramserver.${modelId}`;
  const producer = createTransactionalProducer({ client, transactionalId: id });
  const log = logger.child({ component: 'params-publisher' });

  const commitOffsets = async (
    groupId: string,
    offsets: readonly GradientPosition[],
    metadata: string | undefined,
    before: (txn: RecordSender) => Promise<void>,
    durable?: Promise<unknown>,
  ) => {
    const txn = await producer.transaction();
    try {
      await before(txn);
      await durable;
      if (offsets.length > 0) {
        await txn.sendOffsets({
          consumerGroupId: groupId,
          topics: [
            {
              topic: topics.gradients,
              partitions: offsets.map(({ partition, offset }) => ({
                partition,
                offset,
                ...(metadata === undefined ? {} : { metadata }),
              })),
            },
          ],
        });
      }
      await txn.commit();
    } catch (error) {
      if (txn.isActive()) await txn.abort().catch(() => {});
      throw error;
    }
  };

  return {
    offsetsGroupId: id,
    async fence() {
      const txn = await producer.transaction(); // the first one registers the id with the broker
      await txn.abort();
    },
    async published(admin) {
      const committed = await readGroupOffsets({
        admin,
        groupId: id,
        topic: topics.gradients,
        brokers: client.brokers,
      });
      let version: number | undefined;
      for (const { metadata } of committed) {
        const marker = parseMarker(metadata);
        if (marker !== undefined && marker.modelId === modelId)
          version = Math.max(version ?? -1, marker.version);
      }
      if (version === undefined) return undefined;
      return {
        version,
        gradientOffsets: committed
          .filter((c) => c.offset >= 0)
          .map(({ partition, offset }) => ({ partition, offset })),
      };
    },
    async publish({ version, tensors, applied, vocabulary, gradientOffsets, durable }) {
      const records = paramRecords({ modelId, version, tensors, applied, vocabulary });
      const old = version - retainVersions;
      const tombstones =
        old >= 0 ? paramTombstones({ modelId, version: old, count: records.length }) : [];
      const bytes = records.reduce((n, r) => n + (r.value?.length ?? 0), 0);
      await commitOffsets(
        id,
        gradientOffsets,
        JSON.stringify({ modelId, version }),
        (txn) => txn.send({ topic: topics.params, messages: [...records, ...tombstones] }),
        durable,
      );
      log.debug({ version, chunks: records.length, bytes }, 'published a parameter version');
      return { bytes, chunks: records.length };
    },
    async presetGroupOffsets({ admin, groupId, offsets }) {
      await commitOffsets(groupId, offsets, undefined, async () => {});
      await waitForGroupOffsets({
        admin,
        groupId,
        topic: topics.gradients,
        expected: offsets,
        brokers: client.brokers,
      });
    },
    disconnect: () => producer.disconnect(),
  };
}

function parseMarker(metadata: string | null): { modelId: string; version: number } | undefined {
  if (metadata === null || metadata === '') return undefined;
  try {
    const value = JSON.parse(metadata) as { modelId?: unknown; version?: unknown };
    if (typeof value.modelId === 'string' && Number.isSafeInteger(value.version))
      return { modelId: value.modelId, version: value.version as number };
  } catch {
    // someone else's metadata: not ours
  }
  return undefined;
}
