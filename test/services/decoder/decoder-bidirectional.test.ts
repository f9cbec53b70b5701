/**
 * The decoder with a bidirectional tagger, against a real broker and a real worker: given events
 * are labelled as (the end of) a whole segment — equal to what the worker predicts at the
 * segment's eos — and a key whose segment is still open is refused with the reason and the fix.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startDecoder } from '../../../services/decoder/run-decoder.js';
import { startWorker } from '../../../services/worker/run-worker.js';
import { encodeEvent } from '../../../shared/codec/index.js';
import { parseConfig } from '../../../shared/config/index.js';
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
  foldChangelog,
  predictionsOf,
  produceRecords,
  readTopicUntil,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('decoder-bidirectional-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

const logger = createLogger({ name: 'decoder-bidirectional-test', level: 'error' });
const open: Array<{ stop(): Promise<unknown> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.stop().catch(() => {});
});

const LABELS = ['vowel', 'consonant'];
const word = (key: string, text: string, { eos = true } = {}): StreamEvent[] =>
  [...text].map((token, t) => ({
    key,
    token,
    label: 'aeiou'.includes(token) ? 'vowel' : 'consonant',
    eos: eos && t === text.length - 1,
  }));
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-5, `${what}: ${a} vs ${b}`);

test('bidirectional tag in the decoder: given events are labelled as a whole segment (as the worker predicts it at eos), they end a key’s open segment, and a key alone with an open segment is refused', async () => {
  const app = uniqueTopicPrefix('decoder bidirectional');
  const config = parseConfig(
    {
      app,
      backend: 'cpu',
      task: { type: 'tag', labels: LABELS, maxSequenceSteps: 32 },
      model: { cell: 'lstm', layers: 2, hidden: 6, embedding: 4, bidirectional: true },
    },
    { source: 'decoder-bidirectional-test' },
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
  const send = (events: StreamEvent[]) =>
    produceRecords({
      client,
      topic: topics.events,
      records: events.map((e) => ({ key: e.key, value: encodeEvent(e) })),
    });
  // 'w' has an open segment of 5 steps when the decoder is asked about it.
  await send(word('w', 'strea', { eos: false }));
  await readTopicUntil({
    client,
    admin,
    topic: topics.stateChangelog,
    done: (r) => foldChangelog(r).get('w')?.steps.count === 5,
    what: "w's 5 buffered steps",
  });
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

  const refused = await decoderClient.request({
    key: 'w',
    ask: { kind: 'tag', events: [], lastSteps: 2 },
  });
  assert.equal(refused.errorCode, 'invalid_request');
  assert.match(refused.error!, /key "w" has an unfinished segment \(5 steps, no eos yet\)/);
  assert.match(refused.error!, /fix: send the segment's remaining events/);

  // The rest of w's segment, given to the decoder, then sent to the worker: same labels.
  const rest = word('w', 'ming');
  const ended = await decoderClient.request({
    key: 'w',
    ask: { kind: 'tag', events: rest, lastSteps: 0 },
  });
  assert.equal(ended.error, undefined, ended.error);
  // A segment of its own (no key): the same as the worker's predictions for such a segment.
  const alone = word('x', 'abc');
  const separate = await decoderClient.request({
    ask: { kind: 'tag', events: alone, lastSteps: 0 },
  });
  assert.equal(separate.error, undefined, separate.error);

  await send([...rest, ...alone]);
  const predictions = predictionsOf(
    await readTopicUntil({
      client,
      admin,
      topic: topics.predictions,
      done: (r) => r.length >= 12,
      what: '12 predictions',
    }),
  );
  const ofKey = (key: string) =>
    predictions.filter((p) => p.key === key).sort((a, b) => a.index - b.index);
  const w = ofKey('w');
  assert.equal(w.length, 9, 'the worker predicts all 9 steps of w at its eos');
  assert.equal(ended.labels!.length, 4, 'one label per given event');
  ended.labels!.forEach((label, i) => {
    const worker = w[5 + i]!;
    assert.equal(label.value, worker.label, `step ${5 + i} of w`);
    close(label.confidence, worker.confidence!, `confidence of step ${5 + i} of w`);
  });
  const x = ofKey('x');
  assert.equal(separate.labels!.length, 3);
  separate.labels!.forEach((label, i) => {
    assert.equal(label.value, x[i]!.label);
    close(label.confidence, x[i]!.confidence!, `confidence of step ${i} of x`);
  });
  // A label of an early step depends on later ones: the decoder's answer for "ming" differs from
  // tagging "ming" as a segment of its own (the encoder read w's buffered "strea" first).
  const mingAlone = await decoderClient.request({
    ask: { kind: 'tag', events: word('y', 'ming'), lastSteps: 0 },
  });
  assert.ok(
    mingAlone.labels!.some((l, i) => Math.abs(l.confidence - ended.labels![i]!.confidence) > 1e-6),
    'the buffered steps are part of the segment the encoder reads',
  );
});
