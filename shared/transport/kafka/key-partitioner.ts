import type { PartitionMetadata } from 'kafkajs';

import kafkajs from './kafkajs.js';

const { Partitioners } = kafkajs;

/**
 * The partition a keyed record lands in, for a topic of `partitions` partitions: the very
 * partitioner the bus producer uses (kafkajs' DefaultPartitioner, the Java client's
 * `murmur2(key) mod partitions`), so a caller can tell where its records went (e.g. per-partition
 * counts) without asking the broker.
 */
export function keyPartitioner(partitions: number): (key: string) => number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partitions = ${partitions}: must be an integer >= 1`);
  const partition = Partitioners.DefaultPartitioner();
  // Only the count matters for keyed records; leaders are irrelevant to murmur2 partitioning.
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, i) => ({
    partitionErrorCode: 0,
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));
  return (key) => partition({ topic: '', partitionMetadata, message: { key, value: null } });
}
