/**
 * Tag, classify and forecast requests against a real broker and a real worker: answered for given
 * events, and for a key from the state the worker committed — equal to what the worker itself
 * predicts there.
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
withTestKafka('decoder-tasks-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

// 'error': the decoders start without a published version on purpose (a warning each).
const logger = createLogger({ name: 'decoder-tasks-test', level: 'error' });
const open: Array<{ stop(): Promise<unknown> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.stop().catch(() => {});
});

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
      model: { cell: 'gru', hidden: 10, embedding: 5 },
      tbptt: { k1: 4, k2: 8 },
      ...settings,
    },
    source: 'decoder-tasks-test',
    events,
  });

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test("tag: given events get a label and a distribution per step; a key's last step re-tagged equals the worker's prediction for it", async () => {
  const labels = ['vowel', 'consonant'];
  const word = (key: string, text: string): StreamEvent[] =>
    [...text].map((token) => ({
      key,
      token,
      label: 'aeiou'.includes(token) ? 'vowel' : 'consonant',
      eos: false,
    }));
  const { decoderClient, predictions } = await served(
    'decoder-tag',
    { task: { type: 'tag', labels } },
    word('w', 'streaming'),
  );

  const given = word('ignored', 'abc');
  const tagged = await decoderClient.request({ ask: { kind: 'tag', events: given, lastSteps: 0 } });
  assert.equal(tagged.error, undefined, tagged.error);
  assert.equal(tagged.labels!.length, 3);
  for (const label of tagged.labels!) {
    assert.ok(labels.includes(label.value as string));
    close(
      label.probabilities.reduce((a, b) => a + b, 0),
      1,
      'probabilities sum to 1',
    );
    assert.equal(label.confidence, Math.max(...label.probabilities));
  }

  const last = await decoderClient.request({
    key: 'w',
    ask: { kind: 'tag', events: [], lastSteps: 1 },
  });
  assert.equal(last.error, undefined, last.error);
  const workerLast = (await predictions(9)).at(-1)!;
  assert.equal(last.labels![0]!.value, workerLast.label);
  close(last.labels![0]!.confidence, workerLast.confidence!, 'confidence of the last step');
  assert.equal(last.state?.position, 9);

  const tooMany = await decoderClient.request({
    key: 'w',
    ask: { kind: 'tag', events: [], lastSteps: 500 },
  });
  assert.equal(tooMany.errorCode, 'invalid_request');
  assert.match(tooMany.error!, /can replay at most its last \d+ steps.*fix/);
});

test("classify: a key's sequence so far gets the distribution the worker predicted at its last event; given events continue it", async () => {
  const events: StreamEvent[] = [...'good movie'].map((token) => ({
    key: 'review',
    token,
    eos: false,
  }));
  const { decoderClient, predictions } = await served(
    'decoder-classify',
    { task: { type: 'classify', labels: ['neg', 'pos'] } },
    events,
  );
  const result = await decoderClient.request({
    key: 'review',
    ask: { kind: 'classify', events: [] },
  });
  assert.equal(result.error, undefined, result.error);
  const workerLast = (await predictions(events.length)).at(-1)!;
  assert.equal(result.labels!.length, 1);
  assert.equal(result.labels![0]!.value, workerLast.label);
  close(result.labels![0]!.confidence, workerLast.confidence!, 'confidence');

  const continued = await decoderClient.request({
    key: 'review',
    ask: { kind: 'classify', events: [{ key: 'review', token: '!', eos: true }] },
  });
  assert.equal(continued.error, undefined, continued.error);
  assert.equal(continued.labels!.length, 1);
  close(
    continued.labels![0]!.probabilities.reduce((a, b) => a + b, 0),
    1,
    'a distribution',
  );
});

test("forecast: a key's next vector is the worker's forecast for its next event, in the events' units; later steps feed predictions back", async () => {
  const wave = (i: number) => [10 + Math.sin(i / 3), 100 * Math.cos(i / 5)];
  const events: StreamEvent[] = Array.from({ length: 24 }, (_, i) => ({
    key: 'sensor',
    features: wave(i),
    eos: false,
  }));
  const { decoderClient, send, predictions } = await served(
    'decoder-forecast',
    // Standardised inputs and changes: the worker forecasts each event with the statistics of the
    // events before it, which are the ones it saves for the decoder.
    { task: { type: 'forecast' }, input: { kind: 'features', featureSize: 2 } },
    events,
  );
  const result = await decoderClient.request({
    key: 'sensor',
    ask: { kind: 'forecast', steps: 3, events: [] },
  });
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.forecasts!.length, 3);
  assert.ok(result.forecasts!.every((v) => v.length === 2 && v.every(Number.isFinite)));

  await send([{ key: 'sensor', features: wave(24), eos: false }]);
  const next = (await predictions(25)).at(-1)!;
  assert.equal(next.task, 'forecast');
  next.forecast!.forEach((value, i) => close(result.forecasts![0]![i]!, value, `feature ${i}`));

  const refused = await decoderClient.request({
    key: 'sensor',
    ask: { kind: 'forecast', steps: 0, events: [] },
  });
  assert.equal(refused.errorCode, 'invalid_request');
});
