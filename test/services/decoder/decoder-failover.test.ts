/**
 * A decoder process SIGKILLed in the middle of a load loses no request and answers none twice:
 * after a new decoder takes over, every request has exactly one committed final result.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { decodeDecodeResult, encodeDecodeRequest } from '../../../shared/codec/index.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import {
  createAppTopics,
  produceRecords,
  readTopicUntil,
  spawnService,
  writeConfig,
  type WorkerProcess,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
let broker: TestBroker;
const children: WorkerProcess[] = [];
withTestKafka('decoder-failover-test', (kafka) => ({ client, admin, broker } = kafka), {
  beforeRelease: () => children.forEach((c) => c.child.kill('SIGKILL')),
});
after(() => children.forEach((c) => c.child.kill('SIGKILL')));

test('a decoder killed mid-load loses no request: after another takes over, every request has exactly one final result', async () => {
  const app = uniqueTopicPrefix('decoder-failover');
  const topics = topicNames(app);
  await createAppTopics({ admin, app, partitions: 3 });
  const configPath = await writeConfig(await mkdtemp(join(tmpdir(), 'decoder-failover-')), {
    app,
    backend: 'cpu',
    model: { cell: 'lstm', hidden: 16, embedding: 8 },
    decoder: { maxBatchSize: 8, maxWaitMs: 2 },
  });
  const decoder = () => {
    const child = spawnService({
      command: 'decoder',
      configPath,
      brokers: broker.brokers,
      args: ['--params-wait-ms', '0', '--session-timeout-ms', '6000', '--progress-seconds', '0'],
    });
    children.push(child);
    return child;
  };

  const first = decoder();
  await first.waitForLog(/partitions assigned/, 60_000);
  const ids: string[] = Array.from({ length: 300 }, () => randomUUID());
  await produceRecords({
    client,
    topic: topics.decodeRequests,
    records: ids.map((requestId, i) => ({
      key: requestId,
      value: encodeDecodeRequest({
        requestId,
        promptTokens: [97 + (i % 26)],
        maxTokens: 60,
        stream: i % 10 === 0, // some stream partials too: those may repeat, finals may not
        ask: { kind: 'greedy' },
      }),
    })),
  });
  // Kill it once some (not all) answers are committed.
  await readTopicUntil({
    client,
    admin,
    topic: topics.decodeResults,
    done: (records) => records.filter((r) => !decodeDecodeResult(r.value).partial).length >= 20,
    what: 'the first committed results',
  });
  first.child.kill('SIGKILL');

  decoder();
  const wanted = new Set(ids);
  const records = await readTopicUntil({
    client,
    admin,
    topic: topics.decodeResults,
    timeoutMs: 120_000,
    done: (rs) =>
      new Set(
        rs
          .map((r) => decodeDecodeResult(r.value))
          .filter((r) => !r.partial)
          .map((r) => r.requestId),
      ).size === wanted.size,
    what: 'a final result for every request',
  });
  const finals = new Map<string, number>();
  for (const r of records.map((x) => decodeDecodeResult(x.value))) {
    if (r.partial) continue;
    assert.ok(wanted.has(r.requestId), `a result for an unknown request ${r.requestId}`);
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.tokens!.length, 60);
    finals.set(r.requestId, (finals.get(r.requestId) ?? 0) + 1);
  }
  assert.equal(finals.size, ids.length, 'no request lost');
  const twice = [...finals].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no request answered twice');
});
