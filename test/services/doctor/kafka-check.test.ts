/**
 * The Kafka checks against the real broker: the cluster, its protocol versions and settings, and
 * an app's topics — as rnnstream creates them (all ok), with the changelog switched to
 * cleanup.policy=delete (a failure whose kafka-configs command, applied, makes it ok again), and
 * with partition counts that break co-partitioning and the single params partition.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkKafka, type FetchApiVersions } from '../../../services/doctor/kafka-check.js';
import type { Finding } from '../../../services/doctor/finding.js';
import { fetchBrokerApiVersions } from '../../../shared/transport/kafka/broker-api-versions.js';
import {
  createTopics,
  ensureTopics,
  policyConfigs,
  TOPIC_ROLES,
  topicNames,
  type TopicRole,
} from '../../../shared/transport/kafka/index.js';
import kafkajs from '../../../shared/transport/kafka/kafkajs.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { useTestKafka } from '../../support/kafka/client.js';

const kafka = useTestKafka('doctor-kafka-check');

const byCheck = (findings: Finding[]) => new Map(findings.map((f) => [f.check, f]));

async function appWithTopics(name: string, partitions: number): Promise<string> {
  const app = uniqueTopicPrefix(name);
  await ensureTopics({ admin: kafka.admin, app, partitions, replicationFactor: 1 });
  return app;
}

test('the cluster, its broker and the topics rnnstream creates are all ok', async () => {
  const app = await appWithTopics('doctor ok', 3);
  const findings = await checkKafka({ client: kafka.client, app });
  const failing = findings.filter((f) => f.status !== 'ok');
  assert.deepEqual(failing, []);
  const map = byCheck(findings);
  assert.match(
    map.get('kafka')!.detail,
    /reached cluster \S+ through .*: 1 broker\(s\), controller \d+/,
  );
  const broker = findings.find((f) => f.check.startsWith('kafka broker '))!;
  assert.match(
    broker.detail,
    /Kafka \d+\.\d+-IV\d+ \(inter\.broker\.protocol\.version\), \d+ APIs; kafkajs 2\.2\.4 can use all 21/,
  );
  assert.ok(map.has('kafka settings'));
  const names = topicNames(app);
  assert.match(
    map.get(`topic ${names.events}`)!.detail,
    /^3 partitions × 1 replicas, cleanup\.policy=delete, retention 7 d$/,
  );
  assert.equal(
    map.get(`topic ${names.stateChangelog}`)!.detail,
    '3 partitions × 1 replicas, cleanup.policy=compact',
  );
  assert.equal(
    map.get(`topic ${names.params}`)!.detail,
    '1 partitions × 1 replicas, cleanup.policy=compact',
  );
});

test('a state changelog with cleanup.policy=delete fails with the kafka-configs command, and applying that command makes it ok', async () => {
  const app = await appWithTopics('doctor changelog delete', 2);
  const changelog = topicNames(app).stateChangelog;
  await kafka.admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: changelog,
        configEntries: [{ name: 'cleanup.policy', value: 'delete' }],
      },
    ],
  });
  const before = byCheck(await checkKafka({ client: kafka.client, app })).get(
    `topic ${changelog}`,
  )!;
  assert.equal(before.status, 'fail');
  assert.match(before.detail, /cleanup\.policy=delete, but it must be compacted/);
  assert.equal(
    before.fix,
    `kafka-configs.sh --bootstrap-server ${kafka.broker.brokers[0]} --alter --entity-type topics --entity-name ${changelog} --add-config cleanup.policy=compact`,
  );

  // What the command does: set the one config on the topic.
  const [, topic, key, value] = /--entity-name (\S+) --add-config ([^=]+)=(\S+)$/.exec(
    before.fix!,
  )!;
  await kafka.admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: topic!,
        configEntries: [{ name: key!, value: value! }],
      },
    ],
  });
  const after = byCheck(await checkKafka({ client: kafka.client, app })).get(`topic ${changelog}`)!;
  assert.equal(after.status, 'ok', after.detail);
});

test('partition counts that break co-partitioning or the single params partition fail (relied on) or warn (promised), each with its kafka-topics command', async () => {
  const app = uniqueTopicPrefix('doctor partitions');
  const names = topicNames(app);
  const counts: Partial<Record<TopicRole, number>> = {
    stateChangelog: 2,
    decodeRequests: 4,
    predictions: 2,
    params: 2,
  };
  await createTopics({
    admin: kafka.admin,
    brokers: kafka.broker.brokers,
    topics: TOPIC_ROLES.map((role) => ({
      topic: names[role],
      partitions: counts[role] ?? 3,
      replicationFactor: 1,
      configs: policyConfigs(role),
    })),
  });
  const findings = await checkKafka({ client: kafka.client, app });
  const map = byCheck(findings);
  const bootstrap = kafka.broker.brokers[0];

  const changelog = map.get(`topic ${names.stateChangelog}`)!;
  assert.equal(changelog.status, 'fail');
  assert.match(
    changelog.detail,
    new RegExp(`2 partitions, ${names.events} has 3: they must be equal`),
  );
  assert.match(
    changelog.fix!,
    new RegExp(
      `^kafka-topics\\.sh --bootstrap-server ${bootstrap} --delete --topic ${names.stateChangelog}; then kafka-topics\\.sh --bootstrap-server ${bootstrap} --create --topic ${names.stateChangelog} --partitions 3 --replication-factor 1 --config cleanup\\.policy=compact`,
    ),
  );

  const requests = map.get(`topic ${names.decodeRequests}`)!;
  assert.equal(requests.status, 'fail');
  assert.match(requests.fix!, /--delete --topic .*; then .* --create .* --partitions 3 /);

  const predictions = map.get(`topic ${names.predictions}`)!;
  assert.equal(predictions.status, 'warn');
  assert.match(
    predictions.fix!,
    new RegExp(
      `^kafka-topics\\.sh --bootstrap-server ${bootstrap} --alter --topic ${names.predictions} --partitions 3 `,
    ),
  );

  const params = map.get(`topic ${names.params}`)!;
  assert.equal(params.status, 'fail');
  assert.match(params.detail, /2 partitions, but it must have 1/);

  for (const role of ['events', 'gradients', 'decodeResults', 'deadLetter'] as const)
    assert.equal(map.get(`topic ${names[role]}`)!.status, 'ok', role);
});

test('missing topics fail with the command that creates them with their policies', async () => {
  const app = uniqueTopicPrefix('doctor missing');
  const none = byCheck(await checkKafka({ client: kafka.client, app })).get('topics')!;
  assert.equal(none.status, 'fail');
  assert.match(none.fix!, /--create-topics --partitions <N>/);

  const names = topicNames(app);
  await createTopics({
    admin: kafka.admin,
    brokers: kafka.broker.brokers,
    topics: [
      {
        topic: names.events,
        partitions: 2,
        replicationFactor: 1,
        configs: policyConfigs('events'),
      },
    ],
  });
  const params = byCheck(await checkKafka({ client: kafka.client, app })).get(
    `topic ${names.params}`,
  )!;
  assert.equal(params.status, 'fail');
  assert.equal(params.detail, 'missing');
  assert.match(
    params.fix!,
    new RegExp(
      `--create --topic ${names.params} --partitions 1 --replication-factor 1 --config cleanup\\.policy=compact --config segment\\.ms=3600000 --config delete\\.retention\\.ms=86400000`,
    ),
  );
});

test('a broker that no longer accepts a version kafkajs sends, or an advertised address that does not answer, fails', async () => {
  const app = await appWithTopics('doctor broker versions', 1);
  const real = await fetchBrokerApiVersions({
    host: kafka.broker.brokers[0]!.split(':')[0]!,
    port: Number(kafka.broker.brokers[0]!.split(':')[1]),
    clientId: 'doctor-test',
  });
  // Produce (key 0): kafkajs 2.2.4 implements up to v7; a broker accepting only v8+ refuses it.
  const newer: FetchApiVersions = async () => new Map([...real, [0, { min: 8, max: 11 }]]);
  const refused = (await checkKafka({ client: kafka.client, app, apiVersions: newer })).find((f) =>
    f.check.startsWith('kafka broker '),
  )!;
  assert.equal(refused.status, 'fail');
  assert.match(
    refused.detail,
    /cannot use Produce \(kafkajs would send v7, the broker accepts v8-v11\)/,
  );

  const silent: FetchApiVersions = async () => {
    throw new Error('connect ETIMEDOUT');
  };
  const unreachable = (await checkKafka({ client: kafka.client, app, apiVersions: silent })).find(
    (f) => f.check.startsWith('kafka broker '),
  )!;
  assert.equal(unreachable.status, 'fail');
  assert.match(unreachable.detail, /does not answer from here: connect ETIMEDOUT/);
  assert.match(unreachable.fix!, /advertised\.listeners/);
});
