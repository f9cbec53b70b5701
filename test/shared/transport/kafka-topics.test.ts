import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import kafkajs from '../../../shared/transport/kafka/kafkajs.js';

import {
  ensureTopics,
  TopicLayoutError,
  topicNames,
  waitForTopicLeaders,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;

before(async () => void ({ broker, client, admin } = await connectTestAdmin('kafka-topics-test')), {
  timeout: 240_000,
});
after(() => releaseTestAdmin({ broker, admin }));

async function topicConfigs(
  names: readonly string[],
): Promise<Map<string, Record<string, string>>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({
      type: kafkajs.ConfigResourceTypes.TOPIC,
      name,
      configNames: ['cleanup.policy', 'retention.ms'],
    })),
  });
  return new Map(
    resources.map((r) => [
      r.resourceName,
      Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue])),
    ]),
  );
}

async function partitionCounts(names: readonly string[]): Promise<Map<string, number>> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [...names] });
  return new Map(topics.map((t) => [t.name, t.partitions.length]));
}

test('ensureTopics creates the eight topics of an app, compacting the state changelog and the params', async () => {
  const app = uniqueTopicPrefix('ensure topics creates');
  const names = topicNames(app);
  const result = await ensureTopics({
    admin,
    app,
    partitions: 3,
    replicationFactor: 1,
    brokers: client.brokers,
  });

  assert.deepEqual(Object.values(names), [
    `${app}.events`,
    `${app}.state-changelog`,
    `${app}.gradients`,
    `${app}.params`,
    `${app}.decode-requests`,
    `${app}.predictions`,
    `${app}.decode-results`,
    `${app}.dead-letter`,
  ]);
  assert.deepEqual([...result.created].sort(), Object.values(names).sort());
  assert.deepEqual(result.existing, []);

  const configs = await topicConfigs(Object.values(names));
  assert.equal(configs.get(names.stateChangelog)?.['cleanup.policy'], 'compact');
  assert.equal(configs.get(names.params)?.['cleanup.policy'], 'compact');
  for (const role of [
    'events',
    'gradients',
    'decodeRequests',
    'predictions',
    'decodeResults',
    'deadLetter',
  ] as const) {
    assert.equal(
      configs.get(names[role])?.['cleanup.policy'],
      'delete',
      `${names[role]} deletes by time`,
    );
  }
  assert.equal(
    configs.get(names.gradients)?.['retention.ms'],
    '3600000',
    'gradients are kept briefly',
  );
  assert.ok(
    Number(configs.get(names.events)?.['retention.ms']) >= 86_400_000,
    'events are kept for days',
  );

  const counts = await partitionCounts(Object.values(names));
  assert.equal(counts.get(names.events), 3);
  assert.equal(counts.get(names.stateChangelog), 3, 'co-partitioned with the events');
  assert.equal(counts.get(names.params), 1, 'one ordered stream of parameter versions');
});

test('ensureTopics is idempotent: a second run creates nothing and leaves the topics as they were', async () => {
  const app = uniqueTopicPrefix('ensure topics idempotent');
  const names = Object.values(topicNames(app));
  await ensureTopics({ admin, app, partitions: 2, replicationFactor: 1 });
  const before = await partitionCounts(names);

  const again = await ensureTopics({ admin, app, partitions: 2, replicationFactor: 1 });
  assert.deepEqual(again.created, []);
  assert.deepEqual([...again.existing].sort(), [...names].sort());
  assert.deepEqual(await partitionCounts(names), before);
  assert.equal(
    (await topicConfigs([topicNames(app).stateChangelog])).get(topicNames(app).stateChangelog)?.[
      'cleanup.policy'
    ],
    'compact',
  );
});

test('ensureTopics refuses events and state-changelog with different partition counts, naming both counts and the fix', async () => {
  const app = uniqueTopicPrefix('ensure topics copartition');
  const names = topicNames(app);
  await admin.createTopics({
    waitForLeaders: false, // kafkajs' own wait fails on KRaft: waitForTopicLeaders below
    topics: [{ topic: names.events, numPartitions: 2, replicationFactor: 1 }],
  });
  await waitForTopicLeaders({ admin, topics: [names.events] });

  await assert.rejects(
    ensureTopics({ admin, app, partitions: 4, replicationFactor: 1 }),
    (error: unknown) => {
      assert.ok(error instanceof TopicLayoutError);
      assert.equal(error.retriable, false);
      assert.match(error.message, new RegExp(`${names.events} has 2 partitions`));
      assert.match(error.message, new RegExp(`${names.stateChangelog} would be created with 4`));
      assert.match(error.message, /fix: pass partitions: 2/);
      return true;
    },
  );
  const existing = new Set(await admin.listTopics());
  assert.ok(!existing.has(names.stateChangelog), 'nothing is created when the layout is wrong');

  // With the matching count the remaining seven are created.
  const fixed = await ensureTopics({ admin, app, partitions: 2, replicationFactor: 1 });
  assert.equal(fixed.created.length, 7);
  assert.deepEqual(fixed.existing, [names.events]);
});
