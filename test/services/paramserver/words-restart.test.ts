import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { modelSpecFromConfig, parseConfig } from '../../../shared/config/index.js';
import { initialParameters } from '../../../shared/model/initial-parameters.js';
import { followParams } from '../../../shared/paramserver-client/index.js';
import {
  createKafkaBus,
  ensureTopics,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';
import { randomTensors } from '../../support/paramserver/gradients.js';
import {
  sendGradient,
  spawnParamserver,
  type ParamserverChild,
} from '../../support/paramserver/harness.js';
import { tempDir } from '../../support/run-helpers.js';

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;
before(
  async () => void ({ broker, client, admin } = await connectTestAdmin('words-restart-test')),
  { timeout: 240_000 },
);
after(() => releaseTestAdmin({ broker, admin }));

test('kill -9 of the paramserver: the restarted one publishes the same vocabulary and keeps the counts of words still waiting', async () => {
  const app = uniqueTopicPrefix('words-restart');
  const dir = await tempDir('words-restart');
  const raw = {
    app,
    input: { tokenizer: 'words', vocabSize: 8, minWordCount: 3 },
    model: { cell: 'rnn', hidden: 4, embedding: 2 },
    backend: 'cpu',
    paramserver: { mode: 'async' },
  };
  const config = parseConfig(raw, { source: 'test' });
  await writeFile(join(dir, 'cfg.json'), JSON.stringify(raw));
  const { names } = await ensureTopics({ admin, app, partitions: 1, replicationFactor: 1 });
  const args = [
    ...['--config', join(dir, 'cfg.json'), '--brokers', broker.brokers.join(',')],
    ...['--checkpoint-dir', join(dir, 'checkpoint'), '--model-id', 'm'],
  ];
  const shapes = new Map(
    initialParameters(modelSpecFromConfig(config), config.seed).map((p) => [p.name, p.shape]),
  );
  const bus = createKafkaBus({ client, groupId: `${app}.workers` });
  const producer = bus.producer();
  const follower = followParams({ client, app, modelId: 'm' });
  const send = (step: number, wordCounts: Record<string, number>) =>
    sendGradient({
      sender: producer,
      topic: names.gradients,
      message: {
        workerId: 'w1',
        step,
        paramVersion: step - 1,
        tokens: 4,
        lossSum: 1,
        tensors: randomTensors(step, shapes, 0.1),
        wordCounts: new Map(Object.entries(wordCounts)),
      },
    });
  const children: ParamserverChild[] = [spawnParamserver(args)];
  try {
    await follower.waitForVersion({ minVersion: 0, timeoutMs: 60_000 });
    await send(1, { alpha: 3, beta: 2 });
    const first = await follower.waitForVersion({ minVersion: 1, timeoutMs: 60_000 });
    assert.deepEqual(first.vocabulary, ['<oov>', 'alpha']);

    children[0]!.child.kill('SIGKILL');
    await children[0]!.exited;
    children.push(spawnParamserver(args));
    // beta reaches 3 only with the 2 counted before the kill; gamma ties with it (word order).
    await send(2, { beta: 1, gamma: 3, delta: 1 });
    const second = await follower.waitForVersion({ minVersion: 2, timeoutMs: 60_000 });
    assert.deepEqual(second.vocabulary, ['<oov>', 'alpha', 'beta', 'gamma']);
    assert.match(children[1]!.output(), /paramserver ready at version 1 \(checkpoint\)/);
  } catch (error) {
    for (const [i, c] of children.entries())
      process.stderr.write(`--- paramserver #${i} output ---\n${c.output().slice(-4000)}\n`);
    throw error;
  } finally {
    for (const c of children) c.child.kill('SIGKILL');
    await follower.stop();
    await bus.disconnect();
  }
});
