/**
 * The decoder serving a seq2seq model on a real broker: a model trained offline for a few seconds
 * (`run --embedded --save-params`) is published on `<app>.params` by the paramserver started from
 * that file (`--init`), and a decoder answers transduce requests with exactly the n-best lists
 * `transduce()` gives with the saved parameters, naming the served version; other request types
 * get wrong_model, a bad source invalid_request; readiness and the transduce metrics work without
 * a state view.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { startDecoder } from '../../../services/decoder/run-decoder.js';
import { runParamserver } from '../../../services/paramserver/run-paramserver.js';
import { decodeBytes } from '../../../shared/events/index.js';
import { parseConfig, seq2seqSpecFromConfig } from '../../../shared/config/index.js';
import { createDecoderClient, type DecodeResult } from '../../../shared/decoder-client/index.js';
import { transduce, type TransductionStrategy } from '../../../shared/decoding/transduce.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { createLogger } from '../../../shared/logging/index.js';
import {
  createDecoderMetrics,
  createMetricsRegistry,
  ServiceProbes,
} from '../../../shared/metrics/index.js';
import { ParameterSet } from '../../../shared/model/parameter-set.js';
import { Seq2seqModel } from '../../../shared/model/seq2seq/seq2seq-model.js';
import { seq2seqInitialParameters } from '../../../shared/model/seq2seq/seq2seq-spec.js';
import { DEFAULT_MODEL_ID, paramRecords } from '../../../shared/paramserver-client/index.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { REVERSAL_SETTINGS, trainReversalModel } from '../../support/decoder/reversal-model.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { createAppTopics, produceRecords } from '../../support/kafka/worker-harness.js';
import { until } from '../../support/until.js';

let client: KafkaClient;
let admin: KafkaAdmin;
let broker: TestBroker;
withTestKafka('decoder-transduce-test', (kafka) => ({ client, admin, broker } = kafka));
const open: Array<{ stop(): Promise<unknown> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.stop().catch(() => {});
});

test('a decoder serving a seq2seq model answers greedy and beam transduce requests exactly as transduce() with the published parameters; other requests are refused with the reason and fix', async () => {
  await selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } });
  const app = uniqueTopicPrefix('decoder-transduce');
  const trained = await trainReversalModel({ app });
  assert.ok(trained.version > 0, 'the embedded run trained');
  const config = parseConfig({ app, ...REVERSAL_SETTINGS }, { source: 'decoder-transduce-test' });
  await createAppTopics({ admin, app, partitions: 2 });
  // The paramserver starts from the saved file (`paramserver --init`) and publishes it.
  const stopParamserver = new AbortController();
  let served: number | undefined;
  const paramserver = runParamserver({
    config,
    brokers: broker.brokers,
    logger: createLogger({ name: 'decoder-transduce-paramserver', level: 'error' }),
    initPath: trained.paramsPath,
    signal: stopParamserver.signal,
    onReady: ({ version }) => (served = version),
  });
  paramserver.catch(() => {}); // awaited in `after`
  open.push({
    stop: () => {
      stopParamserver.abort();
      return paramserver;
    },
  });
  const version = await until(
    'the paramserver to publish the saved parameters',
    async () => served,
  );
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const probes = new ServiceProbes({
    conditions: { parameters: 'parameters', group: 'group', restore: 'restore' },
  });
  const decoder = await startDecoder({
    config,
    client,
    logger: createLogger({ name: 'decoder-transduce-test', level: 'error' }),
    paramsWaitMs: 20_000,
    sessionTimeoutMs: 6_000,
    metrics: createDecoderMetrics(registry),
    probes,
    progressIntervalMs: Infinity,
  });
  open.push(decoder);
  const decoderClient = await createDecoderClient({ client, app });
  open.push({ stop: () => decoderClient.close() });
  // No state view to restore: ready once the group assigned the partitions.
  await until('the decoder to be ready', async () => probes.readiness().ok || undefined, {
    timeoutMs: 30_000,
  });

  const model = await trained.load();
  open.push({ stop: async () => model.dispose() });
  const sources = ['abc', 'edcb', 'ba', 'aade'];
  const offline = (strategy: TransductionStrategy) =>
    transduce({
      model,
      sources: sources.map((s) => [...Buffer.from(s)]),
      strategy,
      maxTargetLength: 6,
    });
  const sameAsOffline = (
    results: readonly DecodeResult[],
    expected: ReturnType<typeof offline>,
    what: string,
  ) =>
    results.forEach((result, i) => {
      const at = `${what} of ${sources[i]}`;
      assert.equal(result.error, undefined, `${at}: ${result.error}`);
      assert.equal(result.task, 'transduce');
      assert.equal(result.paramVersion, version, `${at}: the served version`);
      assert.equal(result.hypotheses!.length, expected[i]!.length, at);
      result.hypotheses!.forEach((h, k) => {
        const e = expected[i]![k]!;
        assert.deepEqual(h.tokens, e.tokens, `${at}, hypothesis ${k}`);
        assert.equal(h.text, decodeBytes(e.tokens));
        assert.equal(h.finished, e.finished);
        assert.ok(Math.abs(h.logProb - e.logProb) <= 1e-5, `${at}: ${h.logProb} vs ${e.logProb}`);
        assert.ok(Math.abs(h.score - e.score) <= 1e-5, `${at}: ${h.score} vs ${e.score}`);
      });
      assert.deepEqual(result.tokens, result.hypotheses![0]!.tokens);
      assert.equal(result.text, result.hypotheses![0]!.text);
      assert.equal(result.finishReason, result.hypotheses![0]!.finished ? 'stop' : 'length');
    });

  // Greedy with the source as text; beam with the source as one-byte tokens (as pair events).
  const greedy = await Promise.all(sources.map((source) => decoderClient.transduce({ source })));
  sameAsOffline(greedy, offline({ type: 'greedy' }), 'greedy');
  const beam = await Promise.all(
    sources.map((source) =>
      decoderClient.transduce({
        source: [...source],
        beam: { width: 3, lengthPenalty: 0.6 },
        nBest: 3,
      }),
    ),
  );
  sameAsOffline(
    beam,
    offline({ type: 'beam', beamWidth: 3, lengthPenalty: 0.6, nBest: 3 }),
    'beam',
  );
  assert.ok(beam.every((r) => r.hypotheses!.length === 3));
  assert.ok(
    beam.every((r) => r.hypotheses!.every((h, k, all) => k === 0 || all[k - 1]!.score >= h.score)),
    'n-best ranked by score',
  );

  const tag = await decoderClient.request({
    key: 'k',
    ask: { kind: 'tag', events: [], lastSteps: 1 },
  });
  assert.equal(tag.errorCode, 'wrong_model');
  assert.match(
    tag.error!,
    /needs a model of task "tag" but this decoder serves task "seq2seq" \(fix: send transduce requests here/,
  );
  const tooLong = await decoderClient.transduce({ source: 'abcdeabcde' });
  assert.equal(tooLong.errorCode, 'invalid_request');
  assert.match(tooLong.error!, /source has 10 tokens, over seq2seq\.maxSourceLength = 6 \(fix: /);
  const badToken = await decoderClient.transduce({ source: ['a', 'é'] });
  assert.equal(badToken.errorCode, 'invalid_request');
  assert.match(badToken.error!, /source\[1\]: token "é" is 2 UTF-8 bytes/);

  // Every transduce request is counted and timed under task "transduce" once committed.
  const transduced = 2 * sources.length + 2;
  await until('the transduce requests to be counted', async () => {
    const metrics = await registry.getMetricsAsJSON();
    const duration = metrics.find((m) => m.name === 'rnnstream_decoder_request_duration_seconds')!;
    const count = duration.values.find(
      (v) =>
        v.labels.task === 'transduce' &&
        (v as { metricName?: string }).metricName?.endsWith('_count'),
    )?.value;
    return count === transduced ? count : undefined;
  });
});

test('parameter versions published between rounds of transduce requests are swapped in between batches (the first, version 0, though the seeded model is also version 0): every result is what transduce() gives with the version it names', async () => {
  const app = uniqueTopicPrefix('decoder-transduce-swap');
  const config = parseConfig({ app, ...REVERSAL_SETTINGS }, { source: 'decoder-transduce-test' });
  const spec = seq2seqSpecFromConfig(config);
  await createAppTopics({ admin, app, partitions: 2 });
  const versionParams = (version: number) =>
    new Map(
      seq2seqInitialParameters(spec, 100 + version).map((p) => [
        p.name,
        { shape: p.shape, data: p.values },
      ]),
    );
  const publish = (version: number) =>
    produceRecords({
      client,
      topic: topicNames(app).params,
      records: paramRecords({
        modelId: DEFAULT_MODEL_ID,
        version,
        tensors: versionParams(version),
      }),
    });
  await publish(0);
  const decoder = await startDecoder({
    config,
    client,
    logger: createLogger({ name: 'decoder-transduce-swap', level: 'error' }),
    paramsWaitMs: 20_000,
    sessionTimeoutMs: 6_000,
    progressIntervalMs: Infinity,
  });
  open.push(decoder);
  const decoderClient = await createDecoderClient({ client, app });
  open.push({ stop: () => decoderClient.close() });
  const sources = ['abc', 'ed', 'bead'];
  const results: Array<{ source: string; result: DecodeResult }> = [];
  // A round of one request per source, answered (so the next round meets a newer version).
  const round = () =>
    Promise.all(
      sources.map(async (source) => {
        const result = await decoderClient.transduce({ source, beam: { width: 2 }, nBest: 2 });
        results.push({ source, result });
        return result.paramVersion;
      }),
    );
  assert.deepEqual(await round(), [0, 0, 0]);
  for (let version = 1; version <= 3; version++) {
    await publish(version);
    await until(
      `a result of version ${version}`,
      async () => ((await round()).includes(version) ? true : undefined),
      { intervalMs: 20, timeoutMs: 30_000 },
    );
  }
  const versions = new Set(results.map(({ result }) => result.paramVersion));
  assert.deepEqual([...versions].sort(), [0, 1, 2, 3]);
  for (const version of versions) {
    const model = new Seq2seqModel(
      spec,
      new ParameterSet(seq2seqInitialParameters(spec, 100 + version)),
    );
    try {
      results.forEach(({ source, result }, i) => {
        if (result.paramVersion !== version) return;
        assert.equal(result.error, undefined, result.error);
        const [expected] = transduce({
          model,
          sources: [[...Buffer.from(source)]],
          strategy: { type: 'beam', beamWidth: 2, lengthPenalty: 0, nBest: 2 },
          maxTargetLength: 6,
        });
        assert.deepEqual(
          result.hypotheses!.map((h) => h.tokens),
          expected!.map((h) => h.tokens),
          `request ${i} with version ${version}`,
        );
      });
    } finally {
      model.dispose();
    }
  }
});
