import kafkajs from './kafkajs.js';

import { ConfigError } from '../../errors/index.js';
import type { Logger } from '../../logging/index.js';
import type { KafkaAdmin } from './admin-session.js';
import { TopicLayoutError, withKafkaErrors } from './kafka-errors.js';
import { createTopics, listTopics } from './topic-admin.js';

/** The eight topics of an app (docs/design.md §4), by role. */
export type TopicRole =
  | 'events'
  | 'stateChangelog'
  | 'gradients'
  | 'params'
  | 'decodeRequests'
  | 'predictions'
  | 'decodeResults'
  | 'deadLetter';

export type TopicNames = Readonly<Record<TopicRole, string>>;

const SUFFIX: Readonly<Record<TopicRole, string>> = {
  events: 'events',
  stateChangelog: 'state-changelog',
  gradients: 'gradients',
  params: 'params',
  decodeRequests: 'decode-requests',
  predictions: 'predictions',
  decodeResults: 'decode-results',
  deadLetter: 'dead-letter',
};

export const TOPIC_ROLES = Object.keys(SUFFIX) as readonly TopicRole[];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

interface TopicPolicy {
  readonly cleanupPolicy: 'compact' | 'delete';
  /** 'keyed': the `partitions` option; a number: always that many. */
  readonly partitions: 'keyed' | number;
  readonly configs: Readonly<Record<string, string>>;
  /**
   * Whether partition p must hold the keys of `<app>.events`' partition p (the same partition
   * count): 'relied-on' — code reads them together (a worker's restore, the decoder's state view);
   * 'promised' — docs/design.md §4 promises it to readers, rnnstream itself works without;
   * 'free' — keyed by something else (worker id, request id) or a single partition.
   */
  readonly coPartitioned: 'relied-on' | 'promised' | 'free';
}

/**
 * Per-role policies (docs/design.md §4). `max.message.bytes` is left at the broker default (1 MB) on
 * purpose, but for the dead letters: tensor payloads are chunked below it. `segment.ms` is shortened where retention or
 * compaction must act on small volumes (Kafka only deletes or compacts closed segments).
 */
export const TOPIC_POLICIES: Readonly<Record<TopicRole, TopicPolicy>> = {
  events: {
    cleanupPolicy: 'delete',
    partitions: 'keyed',
    coPartitioned: 'relied-on',
    configs: { 'retention.ms': String(7 * DAY_MS) },
  },
  // Compacted per-key state; tombstones (null values) on eviction stay readable for a day. A worker
  // rewrites each active key once per transaction, so segments roll at 64 MiB (or hourly) to let
  // compaction keep what a restore reads close to one record per live key.
  stateChangelog: {
    cleanupPolicy: 'compact',
    partitions: 'keyed',
    coPartitioned: 'relied-on',
    configs: {
      'segment.ms': String(HOUR_MS),
      'segment.bytes': String(64 * 2 ** 20),
      'delete.retention.ms': String(DAY_MS),
      'min.compaction.lag.ms': '0',
    },
  },
  // Gradients are consumed within a round: short retention, small segments so it takes effect.
  gradients: {
    cleanupPolicy: 'delete',
    partitions: 'keyed',
    coPartitioned: 'free',
    configs: { 'retention.ms': String(HOUR_MS), 'segment.ms': String(10 * 60_000) },
  },
  // One ordered stream of parameter versions, compacted. Chunks need distinct keys
  // (e.g. `<model>/<chunk>`), or compaction keeps only the last chunk of a version.
  params: {
    cleanupPolicy: 'compact',
    partitions: 1,
    coPartitioned: 'free',
    configs: { 'segment.ms': String(HOUR_MS), 'delete.retention.ms': String(DAY_MS) },
  },
  decodeRequests: {
    cleanupPolicy: 'delete',
    partitions: 'keyed',
    coPartitioned: 'relied-on',
    configs: { 'retention.ms': String(DAY_MS) },
  },
  predictions: {
    cleanupPolicy: 'delete',
    partitions: 'keyed',
    coPartitioned: 'promised',
    configs: { 'retention.ms': String(7 * DAY_MS) },
  },
  decodeResults: {
    cleanupPolicy: 'delete',
    partitions: 'keyed',
    coPartitioned: 'free',
    configs: { 'retention.ms': String(DAY_MS) },
  },
  // A dead letter wraps a whole events message (up to the broker's 1 MB default) with its error,
  // so it may be a little larger than the message it carries.
  deadLetter: {
    cleanupPolicy: 'delete',
    partitions: 'keyed',
    coPartitioned: 'promised',
    configs: { 'retention.ms': String(30 * DAY_MS), 'max.message.bytes': String(2 * 1024 * 1024) },
  },
};

/** The topic configs of `role`'s policy, as createTopics takes them. */
export function policyConfigs(role: TopicRole): Record<string, string> {
  const policy = TOPIC_POLICIES[role];
  return { 'cleanup.policy': policy.cleanupPolicy, ...policy.configs };
}

const LEGAL_APP = /^[A-Za-z0-9._-]+$/;
const MAX_TOPIC_LENGTH = 249;

/** The topic names of `app` (docs/design.md §4 CONTRACT): `<app>.events`, `<app>.state-changelog`, ... */
export function topicNames(app: string): TopicNames {
  const longest = Math.max(...Object.values(SUFFIX).map((s) => s.length)) + 1;
  if (!LEGAL_APP.test(app) || app.length + longest > MAX_TOPIC_LENGTH) {
    throw new ConfigError(
      `app = "${app}": not usable as a Kafka topic prefix (fix: letters, digits, '.', '_' and '-' only, at most ${MAX_TOPIC_LENGTH - longest} characters)`,
    );
  }
  const names = {} as Record<TopicRole, string>;
  for (const role of TOPIC_ROLES) names[role] = `${app}.${SUFFIX[role]}`;
  return names;
}

export interface EnsureTopicsResult {
  readonly names: TopicNames;
  readonly created: readonly string[];
  readonly existing: readonly string[];
}

/**
 * Creates the app's eight topics with their policies; topics that exist are left as they are
 * (idempotent; safe when several services start at once). Before creating anything it checks that
 * `<app>.events` and `<app>.state-changelog` will have the same partition count (a worker owns a
 * key's events and its state only when they are co-partitioned) and that existing compacted topics
 * are compacted; either problem is a TopicLayoutError naming the counts or policy and the fix.
 *
 * `partitions` applies to the keyed topics; `params` always has one partition (versions in order).
 * `retentionMs` overrides the per-role retention (e.g. `{ events: 3_600_000 }`).
 */
export async function ensureTopics({
  admin,
  app,
  partitions,
  replicationFactor,
  retentionMs = {},
  brokers = [],
  logger,
}: {
  admin: KafkaAdmin;
  app: string;
  partitions: number;
  replicationFactor: number;
  retentionMs?: Partial<Record<TopicRole, number>>;
  /** Only for error messages. */
  brokers?: readonly string[];
  logger?: Logger;
}): Promise<EnsureTopicsResult> {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new ConfigError(
      `partitions = ${partitions}: must be an integer >= 1 (fix: e.g. 6; it bounds the number of workers)`,
    );
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new ConfigError(
      `replicationFactor = ${replicationFactor}: must be an integer >= 1 (fix: 1 for a single broker, 3 in production)`,
    );
  }
  const names = topicNames(app);
  const context = { brokers, action: `ensure the topics of app '${app}'` };

  const existingNames = new Set(await listTopics({ admin, brokers }));
  const existingRoles = TOPIC_ROLES.filter((role) => existingNames.has(names[role]));
  const partitionCounts = new Map<string, number>();
  if (existingRoles.length > 0) {
    const { topics } = await withKafkaErrors({ ...context, action: 'describe topics' }, () =>
      admin.fetchTopicMetadata({ topics: existingRoles.map((role) => names[role]) }),
    );
    for (const t of topics) partitionCounts.set(t.name, t.partitions.length);
  }

  const plannedCount = (role: TopicRole): number => {
    const policy = TOPIC_POLICIES[role];
    return (
      partitionCounts.get(names[role]) ??
      (policy.partitions === 'keyed' ? partitions : policy.partitions)
    );
  };
  const eventsCount = plannedCount('events');
  const changelogCount = plannedCount('stateChangelog');
  if (eventsCount !== changelogCount) {
    const state = (role: TopicRole) =>
      partitionCounts.has(names[role]) ? 'has' : 'would be created with';
    throw new TopicLayoutError(
      `Kafka: topics of app '${app}' are not co-partitioned: ${names.events} ${state('events')} ${eventsCount} partitions, ` +
        `${names.stateChangelog} ${state('stateChangelog')} ${changelogCount} (they must be equal: a worker owns a key's events and its state together) ` +
        `(fix: pass partitions: ${partitionCounts.get(names.events) ?? partitionCounts.get(names.stateChangelog)} if one of them is new; ` +
        `if both exist, recreate ${names.stateChangelog} with ${eventsCount} partitions (the per-key state then restarts empty) or use a new app id)`,
      { brokers, topic: names.stateChangelog },
    );
  }

  const compactedExisting = existingRoles.filter(
    (role) => TOPIC_POLICIES[role].cleanupPolicy === 'compact',
  );
  if (compactedExisting.length > 0) {
    const described = await withKafkaErrors({ ...context, action: 'describe topic configs' }, () =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: compactedExisting.map((role) => ({
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: names[role],
          configNames: ['cleanup.policy'],
        })),
      }),
    );
    for (const resource of described.resources) {
      const policy =
        resource.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? '';
      if (!policy.split(',').includes('compact')) {
        throw new TopicLayoutError(
          `Kafka: topic ${resource.resourceName} has cleanup.policy=${policy || '(unset)'}, but it must be compacted (it holds the latest value per key) ` +
            `(fix: kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name ${resource.resourceName} --add-config cleanup.policy=compact)`,
          { brokers, topic: resource.resourceName },
        );
      }
    }
  }

  const missing = TOPIC_ROLES.filter((role) => !existingNames.has(names[role]));
  const created: string[] = [];
  if (missing.length > 0) {
    const topics = missing.map((role) => {
      const configs = policyConfigs(role);
      const override = retentionMs[role];
      if (override !== undefined) configs['retention.ms'] = String(override);
      if (replicationFactor >= 3) configs['min.insync.replicas'] = '2';
      return { topic: names[role], partitions: plannedCount(role), replicationFactor, configs };
    });
    await createTopics({ admin, brokers, topics });
    created.push(...missing.map((role) => names[role]));
    logger?.info({ app, created, partitions, replicationFactor }, 'created Kafka topics');
  }
  const existing = existingRoles.map((role) => names[role]);
  return { names, created, existing };
}
