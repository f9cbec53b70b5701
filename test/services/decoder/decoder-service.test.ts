/**
 * The decoder service against a real broker: it continues a key from the state the workers
 * committed, answers every request exactly once (errors included), hot-swaps parameter versions
 * between batches, and batches concurrent requests.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import { startDecoder, type DecoderHandle } from '../../../services/decoder/run-decoder.js';
import { startWorker } from '../../../services/worker/run-worker.js';
import {
  decodeDeadLetter,
  decodeDecodeResult,
  encodeDecodeRequest,
  encodeEvent,
  type DecodeResult,
} from '../../../shared/codec/index.js';
import { modelSpecFromConfig, parseConfig, type Config } from '../../../shared/config/index.js';
import {
  createDecoderClient,
  type ClientRequest,
  type DecoderClient,
} from '../../../shared/decoder-client/index.js';
import { beamSearch, generate } from '../../../shared/decoding/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createDecoderMetrics, createMetricsRegistry } from '../../../shared/metrics/index.js';
import { initialParameters } from '../../../shared/model/initial-parameters.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { DEFAULT_MODEL_ID, paramRecords } from '../../../shared/paramserver-client/index.js';
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
  readTopic,
  readTopicUntil,
} from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('decoder-service-test', (kafka) => ({ client, admin } = kafka));
before(() => selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } }));

// 'error': the decoders start without a published version on purpose (a warning each).
const logger = createLogger({ name: 'decoder-service-test', level: 'error' });
const PARTITIONS = 2;
const open: Array<{ stop(): Promise<unknown> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.stop().catch(() => {});
});

function lmConfig(app: string, decoder: object = {}, limits: object = {}): Config {
  return parseConfig(
    {
      app,
      backend: 'cpu',
      model: { cell: 'lstm', hidden: 12, embedding: 6 },
      tbptt: { k1: 4, k2: 6 },
      decoder: { maxWaitMs: 2, ...decoder },
      limits,
    },
    { source: 'decoder-service-test' },
  );
}

async function newApp(name: string, config: (app: string) => Config = lmConfig) {
  const app = uniqueTopicPrefix(name);
  await createAppTopics({ admin, app, partitions: PARTITIONS });
  return { app, config: config(app), topics: topicNames(app) };
}

async function decoderFor(
  config: Config,
  options: Partial<Parameters<typeof startDecoder>[0]> = {},
): Promise<DecoderHandle> {
  const decoder = await startDecoder({
    config,
    client,
    logger,
    paramsWaitMs: 0,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    progressIntervalMs: Infinity,
    ...options,
  });
  open.push(decoder);
  return decoder;
}

async function clientFor(app: string): Promise<DecoderClient> {
  const decoderClient = await createDecoderClient({ client, app });
  open.push({ stop: () => decoderClient.close() });
  return decoderClient;
}

const bytes = (text: string) => [...Buffer.from(text, 'utf8')];

test("generate for a key continues from exactly the state the worker committed, and its first distribution is the worker's prediction for the key's next event", async () => {
  const { app, config, topics } = await newApp('decoder-key-state');
  const text = 'hello decoder';
  const event = (token: number) => ({
    key: 'doc-1',
    value: encodeEvent({ key: 'doc-1', token, eos: false }),
  });
  await produceRecords({ client, topic: topics.events, records: bytes(text).map(event) });
  const worker = await startWorker({
    config,
    client,
    logger,
    training: false,
    sessionTimeoutMs: 6_000,
  });
  open.push(worker);
  await readTopicUntil({
    client,
    admin,
    topic: topics.predictions,
    done: (r) => r.length >= text.length,
    what: `${text.length} predictions`,
  });

  await decoderFor(config);
  const decoderClient = await clientFor(app);
  const result = await decoderClient.request({
    key: 'doc-1',
    ask: { kind: 'greedy' },
    maxTokens: 1,
    returnState: true,
  });
  assert.equal(result.error, undefined, result.error);
  const stored = foldChangelog(
    await readTopic({ client, admin, topic: topics.stateChangelog }),
  ).get('doc-1')!;
  assert.deepEqual(result.startState, stored.state, 'the state the worker wrote, bit for bit');
  assert.equal(result.state?.position, text.length);
  assert.equal(result.state?.keyInputOffset, stored.inputOffset);
  assert.ok(result.state!.eventsOffset >= text.length);
  assert.equal(result.paramVersion, 0);

  // The worker's prediction for the key's next event comes from the same state and parameters.
  const next = 'x'.charCodeAt(0);
  await produceRecords({ client, topic: topics.events, records: [event(next)] });
  const predictions = predictionsOf(
    await readTopicUntil({
      client,
      admin,
      topic: topics.predictions,
      done: (r) => r.length > text.length,
      what: 'the prediction of the next event',
    }),
  );
  const prediction = predictions.find((p) => p.index === text.length)!;
  assert.equal(prediction.task, 'lm');
  const distribution = result.nextDistribution!;
  assert.ok(
    Math.abs(distribution[next]! - prediction.probability!) <= 1e-6 * prediction.probability!,
    `p(x) ${distribution[next]} vs the worker's ${prediction.probability}`,
  );
  const argmax = distribution.indexOf(Math.max(...distribution));
  assert.equal(String.fromCharCode(argmax), prediction.predictedToken);
  assert.deepEqual(result.tokens, [argmax], 'greedy takes the most likely token');
});

test('requests without a key are answered as the offline decoders answer them: greedy, beam 1 = greedy, seeded sampling reproducible, beam search exact', async () => {
  const { app, config } = await newApp('decoder-fresh');
  await decoderFor(config);
  const decoderClient = await clientFor(app);
  const model = RecurrentModel.create({ spec: modelSpecFromConfig(config), seed: config.seed });
  try {
    const prompt = bytes('the ');
    const local = generate({ model, prompt, maxTokens: 12, strategy: { kind: 'greedy' } });
    const [greedy, beam1, sampleA, sampleB, beam3] = await Promise.all([
      decoderClient.request({ promptText: 'the ', maxTokens: 12, ask: { kind: 'greedy' } }),
      decoderClient.request({
        promptTokens: prompt,
        maxTokens: 12,
        ask: { kind: 'beam', width: 1, lengthPenalty: 0 },
      }),
      ...[0, 1].map(() =>
        decoderClient.request({
          promptText: 'the ',
          maxTokens: 12,
          ask: { kind: 'sample', temperature: 1.5, topK: 20, topP: 0.95, seed: 7 },
        }),
      ),
      decoderClient.request({
        promptText: 'the ',
        maxTokens: 6,
        ask: { kind: 'beam', width: 3, lengthPenalty: 0 },
      }),
    ]);
    for (const r of [greedy, beam1, sampleA, sampleB, beam3])
      assert.equal(r.error, undefined, r.error);
    assert.deepEqual(greedy.tokens, local.tokens);
    assert.equal(greedy.finishReason, 'length');
    assert.ok(Math.abs(greedy.logProb! - local.logProb) < 1e-4);
    assert.equal(greedy.text, Buffer.from(local.tokens).toString('utf8'));
    assert.deepEqual(beam1.tokens, greedy.tokens, 'beam width 1 is greedy');
    assert.deepEqual(sampleA.tokens, sampleB.tokens, 'the same seed samples the same tokens');
    const localBeam = beamSearch({ model, prompt, beamWidth: 3, maxTokens: 6 });
    assert.deepEqual(beam3.tokens, localBeam.best.tokens);
  } finally {
    model.dispose();
  }
});

test('invalid, wrong-model, unknown-key and expired requests get error results with the reason and the fix; a message that is not a request is dead-lettered; the decoder goes on', async () => {
  const { app, config, topics } = await newApp('decoder-errors', (a) =>
    lmConfig(a, { maxPromptTokens: 8, maxBeamWidth: 4 }, { maxEventBytes: 2048 }),
  );
  const registry = createMetricsRegistry({ defaultMetrics: false });
  await decoderFor(config, { metrics: createDecoderMetrics(registry) });
  const decoderClient = await clientFor(app);
  const cases: Array<{ request: ClientRequest; code: string; message: RegExp }> = [
    {
      request: { ask: { kind: 'beam', width: 9, lengthPenalty: 0 } },
      code: 'invalid_request',
      message: /beam.width = 9.*decoder.maxBeamWidth/,
    },
    {
      request: { ask: { kind: 'sample', temperature: -1, topK: 0, topP: 0, seed: 1 } },
      code: 'invalid_request',
      message: /temperature = -1.*fix/,
    },
    {
      request: { promptText: 'a prompt of many bytes', ask: { kind: 'greedy' } },
      code: 'invalid_request',
      message: /prompt of 22 tokens is over decoder.maxPromptTokens = 8/,
    },
    {
      request: { maxTokens: 100_000, ask: { kind: 'greedy' } },
      code: 'invalid_request',
      message: /max_tokens = 100000/,
    },
    {
      request: { model: 'another-app', ask: { kind: 'greedy' } },
      code: 'wrong_model',
      message: /serves/,
    },
    {
      request: { ask: { kind: 'classify', events: [{ key: 'k', token: 'a', eos: true }] } },
      code: 'wrong_model',
      message: /task "classify"/,
    },
    {
      request: { key: 'never-seen', ask: { kind: 'greedy' } },
      code: 'unknown_key',
      message: /has no state.*fix/,
    },
    {
      request: { deadlineMs: Date.now() - 1_000, ask: { kind: 'greedy' } },
      code: 'timeout',
      message: /expired/,
    },
    {
      request: { promptText: 'x'.repeat(3_000), ask: { kind: 'greedy' } },
      code: 'invalid_request',
      message: /request of \d+ bytes is over limits.maxEventBytes = 2048.*fix/,
    },
  ];
  // A message that is not a DecodeRequest, between the requests.
  const garbage = Buffer.from('not a decode request \u0000\u00ff');
  await produceRecords({
    client,
    topic: topics.decodeRequests,
    records: [{ key: 'junk', value: garbage }],
  });
  const results = await Promise.all(cases.map(({ request }) => decoderClient.request(request)));
  results.forEach((result, i) => {
    assert.equal(result.errorCode, cases[i]!.code, `case ${i}: ${result.error}`);
    assert.match(result.error!, cases[i]!.message, `case ${i}`);
    assert.equal(result.tokens?.length ?? 0, 0);
  });
  const fine = await decoderClient.request({
    promptText: 'ok',
    maxTokens: 3,
    ask: { kind: 'greedy' },
  });
  assert.equal(fine.error, undefined);
  assert.equal(fine.tokens!.length, 3);
  const letters = await readTopicUntil({
    client,
    admin,
    topic: topics.deadLetter,
    done: (r) => r.length >= 1,
    what: 'the dead letter',
  });
  const letter = decodeDeadLetter(letters[0]!.value);
  assert.equal(letter.sourceTopic, topics.decodeRequests);
  assert.deepEqual(Buffer.from(letter.originalValue!), garbage);
  const metrics = await registry.getMetricsAsJSON();
  const errors = metrics.find((m) => m.name === 'rnnstream_decoder_errors_total')!;
  const count = (reason: string) => errors.values.find((v) => v.labels.reason === reason)?.value;
  assert.equal(count('invalid_request'), 5);
  assert.equal(count('wrong_model'), 2);
  assert.equal(count('unknown_key'), 1);
  assert.equal(count('timeout'), 1);
});

test('parameter versions published under a steady request load are swapped in between batches: no request lost or failed, versions in results never decrease', async () => {
  const { app, config, topics } = await newApp('decoder-hot-swap');
  const spec = modelSpecFromConfig(config);
  const publish = (version: number) =>
    produceRecords({
      client,
      topic: topics.params,
      records: paramRecords({
        modelId: DEFAULT_MODEL_ID,
        version,
        tensors: new Map(
          initialParameters(spec, 100 + version).map((p) => [
            p.name,
            { shape: p.shape, data: p.values },
          ]),
        ),
      }),
    });
  await publish(0);
  await decoderFor(config, { paramsWaitMs: 10_000 });
  const decoderClient = await clientFor(app);
  const sent: Array<Promise<DecodeResult>> = [];
  for (let version = 1; version <= 5; version++) {
    for (let i = 0; i < 20; i++) {
      sent.push(decoderClient.request({ promptText: 'ab', maxTokens: 8, ask: { kind: 'greedy' } }));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await publish(version);
  }
  for (let i = 0; i < 20; i++)
    sent.push(decoderClient.request({ promptText: 'ab', maxTokens: 8, ask: { kind: 'greedy' } }));
  const results = await Promise.all(sent);
  assert.equal(results.length, 120);
  assert.ok(results.every((r) => r.error === undefined && r.tokens!.length === 8));
  // Sent in order on one partition each: versions never go down within a partition; the last
  // requests see the last version.
  const versions = results.map((r) => r.paramVersion);
  assert.equal(versions.at(-1), 5);
  assert.ok(new Set(versions).size >= 3, `several versions served: ${[...new Set(versions)]}`);
  const byPartition = new Map<number, number[]>();
  for (const r of await readTopic({ client, admin, topic: topics.decodeResults })) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(decodeDecodeResult(r.value).paramVersion);
    byPartition.set(r.partition, list);
  }
  for (const [partition, list] of byPartition)
    for (let i = 1; i < list.length; i++)
      assert.ok(
        list[i]! >= list[i - 1]!,
        `partition ${partition}: version ${list[i]} after ${list[i - 1]}`,
      );
});

test('concurrent requests are computed in dynamic batches; with maxBatchSize 1 each alone; SIGTERM-style stop answers what was read and a new decoder answers the rest exactly once', async () => {
  const { app, config, topics } = await newApp('decoder-batching');
  const decoderClient = await clientFor(app);
  const burst = async (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        decoderClient.request({
          promptTokens: [97 + (i % 20)],
          maxTokens: 20,
          ask: { kind: 'greedy' },
        }),
      ),
    );
  const batched = await decoderFor(config, { maxBatchSize: 16, maxWaitMs: 20 });
  let t0 = performance.now();
  const many = await burst(64);
  const batchedMs = performance.now() - t0;
  assert.ok(many.every((r) => r.error === undefined));
  const sizes = many.map((r) => r.timings!.batchSize);
  assert.ok(Math.max(...sizes) > 1, `batch sizes ${sizes}`);
  assert.ok(sizes.every((s) => s <= 16));
  await batched.stop();

  const single = await decoderFor(config, { maxBatchSize: 1, maxWaitMs: 0 });
  t0 = performance.now();
  const alone = await burst(64);
  const singleMs = performance.now() - t0;
  assert.ok(alone.every((r) => r.timings!.batchSize === 1));
  // The same requests give the same tokens however they are batched.
  assert.deepEqual(
    alone.map((r) => r.tokens),
    many.map((r) => r.tokens),
  );
  console.log(
    `# dynamic batching: 64 requests x 20 tokens in ${batchedMs.toFixed(0)} ms (maxBatchSize 16) vs ${singleMs.toFixed(0)} ms (maxBatchSize 1)`,
  );

  // Stop while requests are still arriving: what was read is answered; the rest waits in Kafka.
  const ids: string[] = Array.from({ length: 60 }, () => randomUUID());
  await produceRecords({
    client,
    topic: topics.decodeRequests,
    records: ids.map((requestId) => ({
      key: requestId,
      value: encodeDecodeRequest({
        requestId,
        promptText: 'z',
        maxTokens: 30,
        ask: { kind: 'greedy' },
      }),
    })),
  });
  await new Promise((resolve) => setTimeout(resolve, 150));
  await single.stop();
  await decoderFor(config);
  const results = await readTopicUntil({
    client,
    admin,
    topic: topics.decodeResults,
    done: (r) => new Set(r.map((x) => x.key).filter((k) => ids.includes(k))).size === ids.length,
    what: 'a result for every request',
  });
  const finals = results
    .map((r) => decodeDecodeResult(r.value))
    .filter((r) => ids.includes(r.requestId) && !r.partial);
  assert.equal(finals.length, ids.length, 'exactly one final result per request');
});

test('a streaming request gets partial results as tokens are produced, then one final result holding all of them', async () => {
  const { app, config } = await newApp('decoder-stream');
  await decoderFor(config);
  const decoderClient = await clientFor(app);
  const partials: DecodeResult[] = [];
  const result = await decoderClient.request(
    { promptText: 'stream ', maxTokens: 40, stream: true, ask: { kind: 'greedy' } },
    { onPartial: (p) => partials.push(p) },
  );
  assert.equal(result.error, undefined);
  assert.ok(partials.length >= 2, `${partials.length} partials`);
  assert.ok(partials.every((p) => p.partial));
  assert.deepEqual(
    partials.flatMap((p) => p.tokens ?? []),
    result.tokens,
  );
});

test('two decoders of one app share the request partitions and together answer every request once', async () => {
  const { app, config, topics } = await newApp('decoder-group');
  const one = await decoderFor(config);
  const two = await decoderFor(config);
  const decoderClient = await clientFor(app);
  // Until the group has settled, one member may own every partition for a moment.
  const deadline = Date.now() + 30_000;
  while (!(one.partitions().length > 0 && two.partitions().length > 0) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(
    [...one.partitions(), ...two.partitions()].sort((a, b) => a - b),
    Array.from({ length: PARTITIONS }, (_, p) => p),
    'each partition owned by exactly one decoder',
  );
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      decoderClient.request({
        promptTokens: [97 + (i % 26)],
        maxTokens: 5,
        ask: { kind: 'greedy' },
      }),
    ),
  );
  assert.ok(results.every((r) => r.error === undefined && r.tokens!.length === 5));
  const finals = (await readTopic({ client, admin, topic: topics.decodeResults })).map((r) =>
    decodeDecodeResult(r.value),
  );
  assert.equal(finals.length, 40);
  assert.equal(new Set(finals.map((r) => r.requestId)).size, 40);
  const summaries = await Promise.all([one.stop(), two.stop()]);
  assert.ok(
    summaries.every((s) => s.requests > 0),
    `both answered: ${summaries.map((s) => s.requests)}`,
  );
});
