/**
 * A model with a convolutional front end served by a real worker and decoder on a real broker: the
 * decoder continues a key from the state the worker committed to the changelog — recurrent state
 * and conv context — so its answers equal what the worker itself predicts there.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startDecoder } from '../../../services/decoder/run-decoder.js';
import { startWorker } from '../../../services/worker/run-worker.js';
import { encodeEvent } from '../../../shared/codec/index.js';
import { parseConfig, type Config } from '../../../shared/config/index.js';
import { createDecoderClient } from '../../../shared/decoder-client/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import { createLogger } from '../../../shared/logging/index.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import {
  createAppTopics,
  predictionsOf,
  produceRecords,
  readTopicUntil,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('conv-decoder-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

const logger = createLogger({ name: 'conv-decoder-test', level: 'error' });
const open: Array<{ stop(): Promise<unknown> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.stop().catch(() => {});
});

const CONV = { kernelWidth: 3, dilation: 2, channels: 6, activation: 'tanh' };

/** A worker (training off) and a decoder of one conv app, the worker having processed `events`. */
async function served(name: string, settings: object, events: StreamEvent[]) {
  const app = uniqueTopicPrefix(name);
  const config: Config = parseConfig(
    {
      app,
      backend: 'cpu',
      model: { cell: 'gru', hidden: 10, embedding: 5, conv: CONV },
      tbptt: { k1: 4, k2: 8 },
      ...settings,
    },
    { source: 'conv-decoder-test' },
  );
  const topics = topicNames(app);
  await createAppTopics({ admin, app, partitions: 2 });
  const worker = await startWorker({
    config,
    client,
    logger,
    training: false,
    sessionTimeoutMs: 6_000,
  });
  open.push(worker);
  const send = (batch: StreamEvent[]) =>
    produceRecords({
      client,
      topic: topics.events,
      records: batch.map((e) => ({ key: e.key, value: encodeEvent(e) })),
    });
  const predictions = async (count: number) =>
    predictionsOf(
      await readTopicUntil({
        client,
        admin,
        topic: topics.predictions,
        done: (r) => r.length >= count,
        what: `${count} predictions`,
      }),
    ).sort((a, b) => a.index - b.index);
  await send(events);
  await predictions(events.length);
  const decoder = await startDecoder({
    config,
    client,
    logger,
    paramsWaitMs: 0,
    sessionTimeoutMs: 6_000,
    progressIntervalMs: Infinity,
  });
  open.push(decoder);
  const decoderClient = await createDecoderClient({ client, app });
  open.push({ stop: () => decoderClient.close() });
  return { decoderClient, send, predictions };
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test("forecast with a conv front end: a key's next vector from its committed state (context included) is the worker's forecast for its next event", async () => {
  const wave = (i: number) => [10 + Math.sin(i / 3), 100 * Math.cos(i / 5)];
  const events: StreamEvent[] = Array.from({ length: 21 }, (_, i) => ({
    key: 'sensor',
    features: wave(i),
    eos: false,
  }));
  const { decoderClient, send, predictions } = await served(
    'conv-forecast',
    { task: { type: 'forecast' }, input: { kind: 'features', featureSize: 2 } },
    events,
  );
  const result = await decoderClient.request({
    key: 'sensor',
    ask: { kind: 'forecast', steps: 2, events: [] },
  });
  assert.equal(result.error, undefined, result.error);
  await send([{ key: 'sensor', features: wave(21), eos: false }]);
  const next = (await predictions(22)).at(-1)!;
  next.forecast!.forEach((value, i) => close(result.forecasts![0]![i]!, value, `feature ${i}`));
});

test("tag with a conv front end: a key's last steps replayed from a stored window start (context included) equal the worker's predictions", async () => {
  const labels = ['vowel', 'consonant'];
  const events: StreamEvent[] = [...'convolutional'].map((token) => ({
    key: 'w',
    token,
    label: 'aeiou'.includes(token) ? 'vowel' : 'consonant',
    eos: false,
  }));
  const { decoderClient, predictions } = await served(
    'conv-tag',
    { task: { type: 'tag', labels } },
    events,
  );
  const replay = await decoderClient.request({
    key: 'w',
    ask: { kind: 'tag', events: [], lastSteps: 5 },
  });
  assert.equal(replay.error, undefined, replay.error);
  const worker = (await predictions(events.length)).slice(-5);
  replay.labels!.forEach((label, i) => {
    assert.equal(label.value, worker[i]!.label, `step ${i}`);
    close(label.confidence, worker[i]!.confidence!, `confidence of step ${i}`);
  });
});
