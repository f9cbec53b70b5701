import type { Logger } from '../../shared/logging/index.js';
import {
  createTopics,
  ensureTopics,
  KafkaSecurityError,
  KafkaTransportError,
  listTopics,
  policyConfigs,
  topicNames,
  topicPartitionCount,
  waitUntilTopicsServe,
  type KafkaAdmin,
} from '../../shared/transport/kafka/index.js';

/** `--create-topics`: make the app's topics (and a custom events topic) before producing. */
export interface CreateTopicsOptions {
  /** App id: its eight topics are created (ensureTopics) with their policies. */
  readonly app: string;
  /** Partitions of the keyed topics when they are created (existing topics keep theirs). */
  readonly partitions: number;
  readonly replicationFactor: number;
}

/**
 * Checks that `topic` (and `deadLetterTopic`) exist and returns the partition count of `topic`;
 * with `create`, first creates the app's topics (and `topic` with the events policy if it is not
 * one of them). A missing topic is a KafkaTransportError naming it, the brokers and the fix
 * (automatic topic creation is off on purpose: a typo must not create a topic).
 */
export async function prepareProduceTopics({
  admin,
  brokers,
  topic,
  deadLetterTopic,
  create,
  logger,
  principal,
}: {
  admin: KafkaAdmin;
  brokers: readonly string[];
  /** The SASL user of the client: with ACLs, a topic it may not describe is not listed either. */
  principal?: string | undefined;
  topic: string;
  deadLetterTopic?: string | undefined;
  create?: CreateTopicsOptions | undefined;
  logger?: Logger | undefined;
}): Promise<{ partitions: number }> {
  if (create !== undefined) {
    const { names, created } = await ensureTopics({ admin, brokers, logger, ...create });
    const appTopics = new Set(Object.values(names));
    const extra = [topic, deadLetterTopic].filter(
      (t): t is string => t !== undefined && !appTopics.has(t),
    );
    const createdExtra =
      extra.length > 0
        ? await createEventTopics({ admin, brokers, topics: extra, create, logger })
        : [];
    const fresh = [...created, ...createdExtra].filter((t) => t === topic || t === deadLetterTopic);
    if (fresh.length > 0) await waitUntilTopicsServe({ admin, brokers, topics: fresh });
  }

  const existing = new Set(await listTopics({ admin, brokers }));
  for (const [name, role] of [
    [topic, 'events topic'],
    [deadLetterTopic, 'dead-letter topic'],
  ] as const) {
    if (name === undefined || existing.has(name)) continue;
    // Brokers with ACLs list only the topics the principal may describe: ask for this one, so an
    // ACL the principal lacks is reported as that (KafkaSecurityError) and not as a missing topic.
    if (principal !== undefined)
      await topicPartitionCount({
        admin,
        brokers,
        topic: name,
        principal,
        action: `produce to topic '${name}'`,
      }).catch((error: unknown) => {
        if (error instanceof KafkaSecurityError) throw error;
      });
    throw new KafkaTransportError(
      `Kafka: the ${role} '${name}' does not exist on brokers ${brokers.join(',')} (automatic topic creation is off) ` +
        `(fix: run rnnstream produce with --create-topics [--partitions N] to create the app's topics, ` +
        `or create it: kafka-topics.sh --bootstrap-server ${brokers[0] ?? '<broker>'} --create --topic ${name} --partitions N; ` +
        `check --app / --topic / the config's "app" for a typo)`,
      { brokers, topic: name, kafkaErrorType: 'UNKNOWN_TOPIC_OR_PARTITION' },
    );
  }
  const partitions = await topicPartitionCount({ admin, brokers, topic });
  if (partitions < 1) {
    throw new KafkaTransportError(
      `Kafka: topic '${topic}' reports no partitions on brokers ${brokers.join(',')} (fix: wait until the topic has leaders and retry; see the broker log)`,
      { brokers, topic, retriable: true },
    );
  }
  return { partitions };
}

/** Creates topics outside the app's set (a `--topic` override) with the events policy. */
async function createEventTopics({
  admin,
  brokers,
  topics,
  create,
  logger,
}: {
  admin: KafkaAdmin;
  brokers: readonly string[];
  topics: readonly string[];
  create: CreateTopicsOptions;
  logger?: Logger | undefined;
}): Promise<string[]> {
  topicNames(create.app); // validates the app id as ensureTopics does
  const existing = new Set(await listTopics({ admin, brokers }));
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  const { partitions, replicationFactor } = create;
  const configs = policyConfigs('events');
  await createTopics({
    admin,
    brokers,
    topics: missing.map((topic) => ({ topic, partitions, replicationFactor, configs })),
  });
  logger?.info({ created: missing, partitions }, 'created Kafka topics');
  return missing;
}
