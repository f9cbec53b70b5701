/**
 * The app's eight topics against what rnnstream needs of them (shared/transport/kafka/topics.ts):
 * they exist; compacted where they hold the newest value per key (state changelog, parameters)
 * and not compacted where every record is read; `params` has one partition; the topics whose
 * partition p must hold the keys of `<app>.events`' partition p have its partition count;
 * min.insync.replicas is reachable; a dead letter fits its topic. Each problem comes with the
 * kafka-configs.sh / kafka-topics.sh command that fixes it.
 */
import {
  describeTopics,
  policyConfigs,
  TOPIC_POLICIES,
  TOPIC_ROLES,
  topicNames,
  type KafkaAdmin,
  type TopicDescription,
  type TopicRole,
} from '../../shared/transport/kafka/index.js';
import { fail, ok, problem, type Finding } from './finding.js';

export async function checkTopics({
  admin,
  app,
  brokers,
  brokerCount,
}: {
  admin: KafkaAdmin;
  app: string;
  /** The bootstrap list: the first one goes into the fix commands. */
  brokers: readonly string[];
  /** Brokers in the cluster: bounds the replication factor of topics to create. */
  brokerCount: number;
}): Promise<Finding[]> {
  const names = topicNames(app);
  const topics = await describeTopics({ admin, brokers, topics: Object.values(names) });
  return judgeTopics({ app, topics, bootstrap: brokers[0]!, brokerCount });
}

/** Partitions a service creates keyed topics with when not told (--partitions). */
const DEFAULT_PARTITIONS = 4;

/** The findings for the described topics of `app` (one per topic; missing ones together). */
export function judgeTopics({
  app,
  topics,
  bootstrap,
  brokerCount,
}: {
  app: string;
  topics: readonly TopicDescription[];
  bootstrap: string;
  brokerCount: number;
}): Finding[] {
  const names = topicNames(app);
  const byRole = new Map<TopicRole, TopicDescription>();
  for (const role of TOPIC_ROLES) {
    const found = topics.find((t) => t.name === names[role]);
    if (found) byRole.set(role, found);
  }
  if (byRole.size === 0)
    return [
      fail(
        'topics',
        `none of the ${TOPIC_ROLES.length} topics of app "${app}" exists (${names.events}, ${names.stateChangelog}, ...)`,
        `create them with their policies: rnnstream worker --config <cfg.json> --brokers ${bootstrap} --create-topics --partitions <N> (N bounds the number of workers; also produce/decoder --create-topics)`,
      ),
    ];
  // Co-partitioned topics follow <app>.events (the input), else the changelog.
  const reference = byRole.get('events') ?? byRole.get('stateChangelog');
  const commands = new KafkaCommands(bootstrap);
  const replication =
    byRole.get('events')?.replicationFactor ?? Math.min(3, Math.max(1, brokerCount));

  const findings: Finding[] = [];
  for (const role of TOPIC_ROLES) {
    const topic = byRole.get(role);
    const name = names[role];
    if (topic === undefined) {
      const policy = TOPIC_POLICIES[role];
      const partitions =
        policy.partitions === 'keyed'
          ? (reference?.partitions ?? DEFAULT_PARTITIONS)
          : policy.partitions;
      findings.push(
        fail(
          `topic ${name}`,
          'missing',
          `${commands.create(name, partitions, replication, policyConfigs(role))} (or start a service with --create-topics --partitions ${reference?.partitions ?? DEFAULT_PARTITIONS})`,
        ),
      );
      continue;
    }
    findings.push(
      judgeTopic({
        role,
        topic,
        reference,
        events: byRole.get('events'),
        commands,
      }),
    );
  }
  return findings;
}

interface Problem {
  readonly serious: boolean;
  readonly what: string;
  readonly fix: string;
}

function judgeTopic({
  role,
  topic,
  reference,
  events,
  commands,
}: {
  role: TopicRole;
  topic: TopicDescription;
  reference: TopicDescription | undefined;
  events: TopicDescription | undefined;
  commands: KafkaCommands;
}): Finding {
  const policy = TOPIC_POLICIES[role];
  const configs = topic.configs;
  const cleanup = configs['cleanup.policy'] ?? 'delete';
  const problems: Problem[] = [];

  const policies = cleanup.split(',').map((p) => p.trim());
  if (policy.cleanupPolicy === 'compact' && !policies.includes('compact'))
    problems.push({
      serious: true,
      what: `cleanup.policy=${cleanup}, but it must be compacted: it holds the newest value per key, and deleting by age loses ${role === 'params' ? 'the parameter versions a starting worker needs' : 'the state of keys idle longer than retention.ms'}`,
      fix: commands.setConfig(topic.name, 'cleanup.policy', 'compact'),
    });
  else if (policy.cleanupPolicy === 'compact' && policies.includes('delete'))
    problems.push({
      serious: false,
      what: `cleanup.policy=${cleanup}: besides compaction, records older than retention.ms (${duration(configs['retention.ms'])}) are deleted, ${role === 'params' ? 'the newest parameter version too once the paramserver is idle that long' : 'with them the state of keys idle that long'}`,
      fix: commands.setConfig(topic.name, 'cleanup.policy', 'compact'),
    });
  else if (policy.cleanupPolicy === 'delete' && policies.includes('compact'))
    problems.push({
      serious: true,
      what: `cleanup.policy=${cleanup}, but rnnstream reads every record of it: compaction keeps only the newest per key`,
      fix: commands.setConfig(topic.name, 'cleanup.policy', 'delete'),
    });

  if (typeof policy.partitions === 'number' && topic.partitions !== policy.partitions)
    problems.push({
      serious: true,
      what: `${topic.partitions} partitions, but it must have ${policy.partitions}: parameter versions are one ordered stream, read in order`,
      fix: commands.recreate(topic, policy.partitions, policyConfigs(role)),
    });

  if (
    policy.coPartitioned !== 'free' &&
    reference !== undefined &&
    reference !== topic &&
    topic.partitions !== reference.partitions
  )
    problems.push(copartitionProblem({ role, topic, reference, commands }));

  const minIsr = Number(configs['min.insync.replicas'] ?? 1);
  if (minIsr > topic.replicationFactor)
    problems.push({
      serious: true,
      what: `min.insync.replicas=${minIsr} > ${topic.replicationFactor} replicas: every transactional write (acks=all) fails with NOT_ENOUGH_REPLICAS`,
      fix: commands.setConfig(topic.name, 'min.insync.replicas', String(topic.replicationFactor)),
    });

  if (role === 'deadLetter' && events !== undefined) {
    const own = Number(configs['max.message.bytes']);
    const largest = Number(events.configs['max.message.bytes']);
    // A dead letter carries a whole events message plus its key, reason and origin.
    if (Number.isFinite(own) && Number.isFinite(largest) && own < largest + 64 * 1024)
      problems.push({
        serious: true,
        what: `max.message.bytes=${own}, but a dead letter wraps a whole ${events.name} message (up to ${largest} bytes) with its error: the largest bad events cannot be dead-lettered and stop their partition`,
        fix: commands.setConfig(
          topic.name,
          'max.message.bytes',
          String(Math.max(2 * 2 ** 20, largest + 64 * 1024)),
        ),
      });
  }

  const retention = policies.includes('delete')
    ? `, retention ${duration(configs['retention.ms'])}`
    : '';
  const summary = `${topic.partitions} partitions × ${topic.replicationFactor} replicas, cleanup.policy=${cleanup}${retention}`;
  if (problems.length === 0) return ok(`topic ${topic.name}`, summary);
  return problem(
    problems.some((p) => p.serious),
    `topic ${topic.name}`,
    `${summary}: ${problems.map((p) => p.what).join('; ')}`,
    problems.map((p) => p.fix).join('; then '),
  );
}

function copartitionProblem({
  role,
  topic,
  reference,
  commands,
}: {
  role: TopicRole;
  topic: TopicDescription;
  reference: TopicDescription;
  commands: KafkaCommands;
}): Problem {
  const policy = TOPIC_POLICIES[role];
  const why =
    policy.coPartitioned === 'relied-on'
      ? role === 'stateChangelog' || role === 'events'
        ? "a worker restores a partition's keys from the changelog partition of the same number"
        : "the decoder answers a key's request from the changelog partition of the request's number"
      : "readers are promised a key's records under its events partition number (docs/design.md §4)";
  const what = `${topic.partitions} partitions, ${reference.name} has ${reference.partitions}: they must be equal (${why})`;
  if (role === 'stateChangelog' || role === 'events')
    return {
      serious: true,
      what,
      fix: `${commands.recreate(topic, reference.partitions, policyConfigs(role))} (the per-key state then starts empty), or use a new app id`,
    };
  return {
    serious: policy.coPartitioned === 'relied-on',
    what,
    fix:
      topic.partitions < reference.partitions
        ? `${commands.addPartitions(topic.name, reference.partitions)} (records already written stay where they are)`
        : commands.recreate(topic, reference.partitions, policyConfigs(role)),
  };
}

/** The Kafka command-line tools' invocations, against one bootstrap broker. */
class KafkaCommands {
  constructor(private readonly bootstrap: string) {}

  setConfig(topic: string, key: string, value: string): string {
    return `kafka-configs.sh --bootstrap-server ${this.bootstrap} --alter --entity-type topics --entity-name ${topic} --add-config ${key}=${value}`;
  }

  addPartitions(topic: string, partitions: number): string {
    return `kafka-topics.sh --bootstrap-server ${this.bootstrap} --alter --topic ${topic} --partitions ${partitions}`;
  }

  create(
    topic: string,
    partitions: number,
    replicationFactor: number,
    configs: Readonly<Record<string, string>>,
  ): string {
    const settings = Object.entries(configs)
      .map(([key, value]) => ` --config ${key}=${value}`)
      .join('');
    return `kafka-topics.sh --bootstrap-server ${this.bootstrap} --create --topic ${topic} --partitions ${partitions} --replication-factor ${replicationFactor}${settings}`;
  }

  /** Partitions cannot be removed: delete the topic (and its records) and create it again. */
  recreate(
    topic: TopicDescription,
    partitions: number,
    configs: Readonly<Record<string, string>>,
  ): string {
    return `kafka-topics.sh --bootstrap-server ${this.bootstrap} --delete --topic ${topic.name}; then ${this.create(topic.name, partitions, topic.replicationFactor, configs)}`;
  }
}

/** '604800000' -> '7 d'; '-1' -> 'unlimited'. */
function duration(ms: string | undefined): string {
  const value = Number(ms);
  if (ms === undefined || !Number.isFinite(value)) return 'unknown';
  if (value < 0) return 'unlimited';
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1_000],
  ];
  for (const [unit, size] of units)
    if (value >= size && value % size === 0) return `${value / size} ${unit}`;
  return `${value} ms`;
}
