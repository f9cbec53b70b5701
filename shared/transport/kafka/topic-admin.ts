import kafkajs from './kafkajs.js';

import type { KafkaAdmin } from './admin-session.js';
import { withKafkaErrors, wrapKafkaError } from './kafka-errors.js';

/** A topic to create: configs are Kafka topic configs (`cleanup.policy`, `retention.ms`, ...). */
export interface NewTopic {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}

/** The names of all topics on the cluster. */
export function listTopics({
  admin,
  brokers,
}: {
  admin: KafkaAdmin;
  /** Only for error messages. */
  brokers: readonly string[];
}): Promise<string[]> {
  return withKafkaErrors({ action: 'list topics', brokers }, () => admin.listTopics());
}

/** How many partitions the broker reports for `topic` (0 while it has none). */
export async function topicPartitionCount({
  admin,
  brokers,
  topic,
  action = 'describe topic',
  principal,
}: {
  admin: KafkaAdmin;
  brokers: readonly string[];
  topic: string;
  /** What the topic is described for, and who asks (error messages: the ACL to grant). */
  action?: string;
  principal?: string | undefined;
}): Promise<number> {
  const { topics } = await withKafkaErrors({ action, brokers, topic, principal }, () =>
    admin.fetchTopicMetadata({ topics: [topic] }),
  );
  return topics.find((t) => t.name === topic)?.partitions.length ?? 0;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: number;
  /** Replicas of its partitions (the fewest, if they differ). */
  readonly replicationFactor: number;
  /** Every topic config with its effective value (broker defaults included). */
  readonly configs: Readonly<Record<string, string>>;
}

/** Partitions, replication and configs of those of `topics` that exist (the others are left out). */
export async function describeTopics({
  admin,
  brokers,
  topics,
}: {
  admin: KafkaAdmin;
  brokers: readonly string[];
  topics: readonly string[];
}): Promise<TopicDescription[]> {
  const existing = new Set(await listTopics({ admin, brokers }));
  const present = topics.filter((t) => existing.has(t));
  if (present.length === 0) return [];
  const metadata = await withKafkaErrors({ action: 'describe topics', brokers }, () =>
    admin.fetchTopicMetadata({ topics: present }),
  );
  const described = await withKafkaErrors({ action: 'describe topic configs', brokers }, () =>
    admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name })),
    }),
  );
  return present.map((name) => {
    const partitions = metadata.topics.find((t) => t.name === name)?.partitions ?? [];
    const configs: Record<string, string> = {};
    for (const entry of described.resources.find((r) => r.resourceName === name)?.configEntries ??
      [])
      if (entry.configValue !== null) configs[entry.configName] = entry.configValue;
    return {
      name,
      partitions: partitions.length,
      replicationFactor: Math.min(...partitions.map((p) => p.replicas.length)),
      configs,
    };
  });
}

/**
 * Creates `topics` and waits until every partition's leader answers. kafkajs' own wait
 * (`waitForLeaders`) fails on KRaft brokers, hence waitForTopicLeaders.
 */
export async function createTopics({
  admin,
  brokers,
  topics,
}: {
  admin: KafkaAdmin;
  brokers: readonly string[];
  topics: readonly NewTopic[];
}): Promise<void> {
  const names = topics.map((t) => t.topic).join(', ');
  await withKafkaErrors({ brokers, action: `create topics ${names}` }, () =>
    admin.createTopics({
      waitForLeaders: false,
      topics: topics.map(({ topic, partitions, replicationFactor, configs = {} }) => ({
        topic,
        numPartitions: partitions,
        replicationFactor,
        configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
      })),
    }),
  );
  await withKafkaErrors({ brokers, action: `wait for the leaders of ${names}` }, () =>
    waitForTopicLeaders({ admin, topics: topics.map((t) => t.topic) }),
  );
}

/** Deletes `topics` with everything on them. */
export function deleteTopics({
  admin,
  brokers,
  topics,
}: {
  admin: KafkaAdmin;
  brokers: readonly string[];
  topics: readonly string[];
}): Promise<void> {
  return withKafkaErrors({ brokers, action: `delete topics ${topics.join(', ')}` }, () =>
    admin.deleteTopics({ topics: [...topics] }),
  );
}

const NOT_YET = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
]);

/**
 * Waits until every partition of `topics` has a leader that answers for it: the metadata names
 * one, and listing the partitions' offsets succeeds (for a moment after the metadata does, a KRaft
 * broker still answers NOT_LEADER_FOR_PARTITION). kafkajs' own `waitForLeaders` gives up on
 * UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers for a moment after creating a topic.
 */
export async function waitForTopicLeaders({
  admin,
  topics,
  timeoutMs = 30_000,
  pollIntervalMs = 100,
}: {
  admin: KafkaAdmin;
  topics: readonly string[];
  timeoutMs?: number;
  pollIntervalMs?: number;
}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const ready = metadata.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      );
      if (ready && metadata.topics.length === topics.length) {
        for (const topic of topics) await admin.fetchTopicOffsets(topic);
        return;
      }
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (typeof type !== 'string' || !NOT_YET.has(type)) throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `topics ${topics.join(', ')} have no leader ${timeoutMs / 1000} s after creation`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

/**
 * Waits until the leaders of new topics answer for their partitions. Right after creation a KRaft
 * broker already names the leader in its metadata but still answers NOT_LEADER_OR_FOLLOWER for a
 * moment; a producer would retry, but log a warning about it on every first run.
 */
export async function waitUntilTopicsServe({
  admin,
  brokers,
  topics,
  timeoutMs = 10_000,
}: {
  admin: KafkaAdmin;
  brokers: readonly string[];
  topics: readonly string[];
  timeoutMs?: number;
}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const topic of topics) {
    for (;;) {
      try {
        await admin.fetchTopicOffsets(topic); // asks each partition's leader
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw wrapKafkaError(error, {
            action: `wait for topic ${topic} to serve`,
            brokers,
            topic,
          });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}
