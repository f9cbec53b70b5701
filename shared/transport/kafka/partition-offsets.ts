import type { Kafka } from 'kafkajs';

import type { KafkaClient } from './create-kafka-client.js';
import { KafkaTransportError, withKafkaErrors } from './kafka-errors.js';

/** A partition's offsets as its leader reports them now. */
export interface PartitionOffsets {
  /** The first offset still stored (log start). */
  readonly start: number;
  /**
   * The read_committed end (last stable offset): below it every record is committed or aborted;
   * an open transaction holds it at its first record.
   */
  readonly lastStable: number;
  /** The offset after the last record written, committed or not (high watermark). */
  readonly logEnd: number;
}

/** ListOffsets of one topic's partitions, over connections kept open between calls. */
export interface PartitionOffsetsReader {
  /** All partition ids of the topic, ascending (from the cluster metadata). */
  partitionIds(): Promise<number[]>;
  /** The offsets of `partitions` now; a partition the topic does not have is a non-retriable error. */
  read(partitions: readonly number[]): Promise<Map<number, PartitionOffsets>>;
  close(): Promise<void>;
}

/** kafkajs' Cluster as far as we use it (src/cluster/index.js of kafkajs 2.2.4). */
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number }>;
  fetchTopicsOffset(
    topics: Array<{
      topic: string;
      partitions: Array<{ partition: number }>;
      fromBeginning: boolean;
    }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

/**
 * kafkajs' admin asks ListOffsets at its default isolation, read_committed, so it can tell the
 * last stable offset but never the high watermark; no public kafkajs call takes an isolation
 * level. The Kafka object builds every cluster through one private factory that does take it:
 * we use that (kafkajs is pinned to 2.2.4, whose factory and cluster this was written against).
 */
function createCluster(kafka: Kafka, isolationLevel: number): KafkajsCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const create =
    factory === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function')
    throw new KafkaTransportError(
      `kafkajs has no private cluster factory 'private:Kafka:createCluster' (reading high watermarks needs it; fix: install the pinned kafkajs 2.2.4, or port partition-offsets.ts to the installed release)`,
      { retriable: false, brokers: [] },
    );
  return (create as (options: object) => KafkajsCluster).call(kafka, {
    allowAutoTopicCreation: false,
    isolationLevel,
  });
}

/**
 * Reads start, last stable and log end offsets of `topic`'s partitions straight from their
 * leaders: one ListOffsets per isolation level (and one for the start) per call, on two
 * connections opened at the first call and kept until close().
 */
export function openPartitionOffsetsReader({
  client,
  topic,
}: {
  client: KafkaClient;
  topic: string;
}): PartitionOffsetsReader {
  const context = { brokers: client.brokers, principal: client.security.principal, topic };
  let clusters: Promise<{ committed: KafkajsCluster; written: KafkajsCluster }> | undefined;
  const connect = async (isolationLevel: number) => {
    const cluster = createCluster(client.kafka, isolationLevel);
    await cluster.connect();
    await cluster.addTargetTopic(topic);
    return cluster;
  };
  const connected = () => {
    clusters ??= withKafkaErrors({ ...context, action: 'connect to read offsets' }, async () => ({
      committed: await connect(READ_COMMITTED),
      written: await connect(READ_UNCOMMITTED),
    }));
    clusters.catch(() => (clusters = undefined)); // the next call connects again
    return clusters;
  };
  const offsetsOf = async (
    cluster: KafkajsCluster,
    partitions: readonly number[],
    fromBeginning: boolean,
  ): Promise<Map<number, number>> => {
    const [answer] = await cluster.fetchTopicsOffset([
      { topic, partitions: partitions.map((partition) => ({ partition })), fromBeginning },
    ]);
    return new Map((answer?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  };

  const partitionIds = async (): Promise<number[]> => {
    const { committed } = await connected();
    return withKafkaErrors({ ...context, action: 'read the partitions' }, async () => {
      await committed.refreshMetadataIfNecessary();
      return committed
        .findTopicPartitionMetadata(topic)
        .map((p) => p.partitionId)
        .sort((a, b) => a - b);
    });
  };

  return {
    partitionIds,
    async read(partitions) {
      const { committed, written } = await connected();
      const known = new Set(await partitionIds());
      const missing = partitions.filter((p) => !known.has(p));
      if (missing.length > 0)
        throw new KafkaTransportError(
          `topic '${topic}' has no partition ${missing.join(', ')} (it has ${known.size}: 0..${known.size - 1}); fix: name partitions the topic has (co-partitioned topics must have the same count)`,
          { retriable: false, ...context },
        );
      try {
        const [start, lastStable, logEnd] = await withKafkaErrors(
          { ...context, action: 'list offsets' },
          () =>
            Promise.all([
              offsetsOf(committed, partitions, true),
              offsetsOf(committed, partitions, false),
              offsetsOf(written, partitions, false),
            ]),
        );
        return new Map(
          partitions.map((p) => [
            p,
            { start: start.get(p)!, lastStable: lastStable.get(p)!, logEnd: logEnd.get(p)! },
          ]),
        );
      } catch (error) {
        // A moved leader: the next call asks the new one.
        await Promise.all([committed.refreshMetadata(), written.refreshMetadata()]).catch(() => {});
        throw error;
      }
    },
    async close() {
      const open = clusters;
      clusters = undefined;
      if (!open) return;
      const { committed, written } = await open.catch(() => ({ committed: null, written: null }));
      await Promise.all(
        [committed?.disconnect(), written?.disconnect()].map((p) => p?.catch(() => {})),
      );
    },
  };
}
