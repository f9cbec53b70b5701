/**
 * A model with a convolutional front end served by a real worker and decoder on a real broker: the
 * decoder continues a key from the state the worker committed to the changelog — recurrent state
 * and conv context — so its answers equal what the worker itself predicts there.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { selectBackend } from '../../../shared/engine/select-backend.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import { createLogger } from '../../../shared/logging/index.js';
import type { KafkaAdmin, KafkaClient } from '../../../shared/transport/kafka/index.js';
import { servedApp } from '../../support/decoder/served-app.js';
import { withTestKafka } from '../../support/kafka/client.js';

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

/** A worker (training off) and a decoder of one app, the worker having processed `events`. */
const served = (name: string, settings: object, events: StreamEvent[]) =>
  servedApp({
    client,
    admin,
    logger,
    open,
    name,
    config: {
      backend: 'cpu',
      model: { cell: 'gru', hidden: 10, embedding: 5, conv: CONV },
      tbptt: { k1: 4, k2: 8 },
      ...settings,
    },
    source: 'conv-decoder-test',
    events,
  });

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
