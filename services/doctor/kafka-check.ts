/**
 * The Kafka cluster behind --brokers: reachable, which brokers (as they advertise themselves: the
 * address clients really connect to), each broker's protocol versions against kafkajs', and the
 * broker settings rnnstream depends on (transactions, consumer groups, compaction). Then the
 * app's topics (topics-check.ts) on the same connection.
 */
import {
  APIS_USED,
  closeKafkaAdmin,
  describeKafkaCluster,
  fetchBrokerApiVersions,
  installedKafkajsVersion,
  kafkajsMismatches,
  openKafkaAdmin,
  type BrokerApiVersions,
  type BrokerDescription,
  type KafkaAdmin,
  type KafkaClient,
} from '../../shared/transport/kafka/index.js';
import { fail, ok, splitFix, warn, type Finding } from './finding.js';
import { checkTopics } from './topics-check.js';

/** Broker settings doctor reads; a broker that does not know one leaves it out. */
const BROKER_CONFIGS = [
  'inter.broker.protocol.version',
  'transaction.state.log.replication.factor',
  'transaction.state.log.min.isr',
  'offsets.topic.replication.factor',
  'log.cleaner.enable',
];

export type FetchApiVersions = typeof fetchBrokerApiVersions;

export async function checkKafka({
  client,
  app,
  apiVersions = fetchBrokerApiVersions,
}: {
  client: KafkaClient;
  /** Whose topics to check; undefined when the configuration naming it is invalid. */
  app: string | undefined;
  /** How a broker's API versions are asked for (tests pass a fake to simulate other brokers). */
  apiVersions?: FetchApiVersions;
}): Promise<Finding[]> {
  const brokers = client.brokers;
  let admin: KafkaAdmin;
  try {
    admin = await openKafkaAdmin({ client, action: 'connect to the cluster' });
  } catch (error) {
    const { detail, fix } = splitFix((error as Error).message);
    return [
      fail(
        'kafka',
        detail,
        fix ??
          `check that a broker listens on ${brokers.join(', ')} and that --brokers names it; for a local test broker: npm run kafka:local`,
      ),
    ];
  }
  try {
    const cluster = await describeKafkaCluster({ admin, brokers, brokerConfigs: BROKER_CONFIGS });
    const findings: Finding[] = [
      cluster.controller === undefined
        ? warn(
            'kafka',
            `reached cluster ${cluster.clusterId} through ${brokers.join(', ')}, ${cluster.brokers.length} broker(s), but it has no active controller`,
            "check the controllers' logs (KRaft: controller.quorum.voters must name a majority that is up)",
          )
        : ok(
            'kafka',
            `reached cluster ${cluster.clusterId} through ${brokers.join(', ')}: ${cluster.brokers.length} broker(s), controller ${cluster.controller}`,
          ),
    ];
    for (const broker of cluster.brokers)
      findings.push(await brokerFinding({ broker, clientId: client.clientId, apiVersions }));
    findings.push(...clusterSettingsFindings(cluster.brokers));
    if (app === undefined)
      findings.push(
        warn(
          'topics',
          'not checked: the configuration is invalid, and its app names the topics',
          'fix the configuration (see the config finding), then run doctor again',
        ),
      );
    else
      findings.push(
        ...(await checkTopics({ admin, app, brokers, brokerCount: cluster.brokers.length })),
      );
    return findings;
  } finally {
    await closeKafkaAdmin(admin);
  }
}

async function brokerFinding({
  broker,
  clientId,
  apiVersions,
}: {
  broker: BrokerDescription;
  clientId: string;
  apiVersions: FetchApiVersions;
}): Promise<Finding> {
  const check = `kafka broker ${broker.nodeId}`;
  const address = `${broker.host}:${broker.port}`;
  let versions: BrokerApiVersions;
  try {
    versions = await apiVersions({ host: broker.host, port: broker.port, clientId });
  } catch (error) {
    return fail(
      check,
      `advertises ${address}, which does not answer from here: ${(error as Error).message}`,
      `clients connect to the advertised address, not to --brokers: set the broker's advertised.listeners to an address this machine reaches (e.g. PLAINTEXT://<host-name>:${broker.port})`,
    );
  }
  const protocol = broker.configs['inter.broker.protocol.version'];
  const release = protocol
    ? `Kafka ${protocol} (inter.broker.protocol.version)`
    : 'Kafka (release not reported)';
  const kafkajs = `kafkajs ${installedKafkajsVersion()}`;
  const mismatches = kafkajsMismatches(versions);
  if (mismatches.length > 0)
    return fail(
      check,
      `${address}: ${release}, ${versions.size} APIs; ${kafkajs} cannot use ${mismatches.map((m) => `${m.api} (${m.reason})`).join(', ')}`,
      'run rnnstream against a broker whose protocol versions kafkajs speaks (Kafka 2.x / 3.x), or move the transport to a client that speaks this one',
    );
  return ok(
    check,
    `${address}: ${release}, ${versions.size} APIs; ${kafkajs} can use all ${APIS_USED.length} that rnnstream needs`,
  );
}

/** The settings that make transactions, consumer groups and compaction work, on every broker. */
function clusterSettingsFindings(brokers: readonly BrokerDescription[]): Finding[] {
  const findings: Finding[] = [];
  const count = brokers.length;
  const setting = (name: string) =>
    brokers
      .map((b) => ({ nodeId: b.nodeId, value: b.configs[name] }))
      .filter((s) => s.value !== undefined);
  const where = (nodes: Array<{ nodeId: number }>) =>
    `broker${nodes.length > 1 ? 's' : ''} ${nodes.map((n) => n.nodeId).join(', ')}`;
  const fixIn = (assignment: string) =>
    `set ${assignment} in the brokers' server.properties and restart them (it takes effect only while the internal topic does not exist yet; otherwise reassign its partitions with kafka-reassign-partitions.sh), or add brokers`;

  const replication: Array<[string, string]> = [
    [
      'transaction.state.log.replication.factor',
      'transactional producers (worker, paramserver, decoder) wait forever for a transaction coordinator',
    ],
    [
      'offsets.topic.replication.factor',
      'consumer groups (workers, decoders) cannot commit offsets',
    ],
  ];
  for (const [name, consequence] of replication) {
    const tooHigh = setting(name).filter((s) => Number(s.value) > count);
    if (tooHigh.length > 0)
      findings.push(
        fail(
          'kafka settings',
          `${name}=${tooHigh[0]!.value} on ${where(tooHigh)}, but the cluster has ${count} broker(s): ${consequence}`,
          fixIn(`${name}=${count}`),
        ),
      );
  }
  const minIsr = setting('transaction.state.log.min.isr').filter((s) => {
    const factor = brokers.find((b) => b.nodeId === s.nodeId)?.configs[
      'transaction.state.log.replication.factor'
    ];
    return factor !== undefined && Number(s.value) > Math.min(Number(factor), count);
  });
  if (minIsr.length > 0)
    findings.push(
      fail(
        'kafka settings',
        `transaction.state.log.min.isr=${minIsr[0]!.value} on ${where(minIsr)} exceeds the replicas the transaction log can have: transactions cannot commit`,
        fixIn(`transaction.state.log.min.isr=1 (at most the replication factor)`),
      ),
    );
  const noCleaner = setting('log.cleaner.enable').filter((s) => s.value === 'false');
  if (noCleaner.length > 0)
    findings.push(
      fail(
        'kafka settings',
        `log.cleaner.enable=false on ${where(noCleaner)}: compacted topics (state changelog, params) are never compacted, so restores read ever more`,
        fixIn('log.cleaner.enable=true'),
      ),
    );
  if (findings.length === 0)
    findings.push(
      ok(
        'kafka settings',
        `transactions, consumer groups and compaction can work on ${count} broker(s) (${[
          'transaction.state.log.replication.factor',
          'offsets.topic.replication.factor',
          'log.cleaner.enable',
        ]
          .map((name) => `${name}=${setting(name)[0]?.value ?? '?'}`)
          .join(', ')})`,
      ),
    );
  return findings;
}
