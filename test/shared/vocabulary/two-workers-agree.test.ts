import { test } from 'node:test';
import assert from 'node:assert/strict';

import { GradientAssembler } from '../../../shared/codec/gradient-codec.js';
import { ParamAssembler } from '../../../shared/codec/param-codec.js';
import { parseConfig } from '../../../shared/config/index.js';
import { tf } from '../../../shared/engine/tf.js';
import { createLearner } from '../../../shared/learner/create-learner.js';
import { encodeEvent } from '../../../shared/learner/event-encoder.js';
import {
  ParameterServer,
  parameterServerOptionsFromConfig,
} from '../../../shared/paramserver/parameter-server.js';
import { applyParams } from '../../../shared/paramserver-client/apply-params.js';
import { gradientRecords } from '../../../shared/paramserver-client/gradient-records.js';
import { paramRecords } from '../../../shared/paramserver-client/param-records.js';
import type { WorkerGradient } from '../../../shared/tbptt/gradient-sink.js';
import { createInProcessBus } from '../../../shared/transport/in-process-bus.js';
import { serverVocabularyFromConfig } from '../../../shared/vocabulary/server-vocabulary-from-config.js';
import { OOV_ID } from '../../../shared/vocabulary/vocabulary.js';
import { wordsVocabulary } from '../../../shared/vocabulary/words-tokenizer.js';

const config = parseConfig(
  {
    input: { tokenizer: 'words', vocabSize: 10, minWordCount: 3 },
    model: { cell: 'rnn', hidden: 8, embedding: 4 },
    tbptt: { k1: 4, k2: 4, maxWaitMs: 0 },
    paramserver: { mode: 'sync', minWorkers: 2 },
    seed: 3,
  },
  { source: 'two-workers' },
);

// Disjoint keys, different words: 'shared' words reach the threshold only when both report them.
const TEXTS = {
  w1: 'red fish blue fish shared one',
  w2: 'green cat shared two grey cat',
};

test('two workers and the parameter service agree on word ids through the gradient and parameter records on the in-process bus', async () => {
  await tf.setBackend('cpu');
  const words = (await serverVocabularyFromConfig(config))!;
  const base = createLearner({ config });
  const server = ParameterServer.create({
    options: parameterServerOptionsFromConfig(config),
    state: {
      version: 0,
      scheduleStep: 0,
      params: [...base.model.params.toNamedArrays()].map(([name, { shape, data }]) => ({
        name,
        shape,
        values: data,
      })),
    },
    words,
  });
  base.dispose();

  // The two topics on the in-process bus, carrying the encoded records exactly as Kafka would.
  const bus = createInProcessBus<Uint8Array>();
  const producer = bus.producer();
  const reader = (topic: string) => {
    const consumer = bus.consumer();
    const batches = consumer.batches({ topic, maxBatchSize: 256, idleAfterMs: () => 0 });
    const next = batches[Symbol.asyncIterator]();
    /** Everything on the topic so far. */
    return async (): Promise<Uint8Array[]> => {
      const out: Uint8Array[] = [];
      for (;;) {
        const { value, done } = await next.next();
        if (done || value.length === 0) return out;
        out.push(...value.map((r) => r.value));
      }
    };
  };
  const readGradients = reader('gradients');
  const readParams = reader('params');
  const send = (topic: string, records: ReadonlyArray<{ key: string; value: Uint8Array | null }>) =>
    producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value! })) });
  const workers = (['w1', 'w2'] as const).map((workerId) => {
    const learner = createLearner({
      config,
      workerId,
      gradientSink: () => ({
        async submit(gradient: WorkerGradient) {
          const records = gradientRecords({ gradient });
          for (const t of gradient.gradients.values()) t.dispose();
          await send('gradients', records);
        },
      }),
    });
    const { learner: stream, normalizer } = learner.openKeySpace();
    return { workerId, learner, stream, normalizer, index: 0 };
  });

  const gradientAssembler = new GradientAssembler();
  const paramAssembler = new ParamAssembler();
  const seenCounts: Array<ReadonlyMap<string, number>> = [];
  for (let round = 0; round < 12; round++) {
    for (const w of workers) {
      const text = TEXTS[w.workerId].split(' ');
      const events = Array.from({ length: 4 }, (_, i) => ({
        key: `${w.workerId}-doc`,
        token: text[(round * 4 + i) % text.length]!,
        eos: false,
      }));
      await w.stream.process(events.map((event) => encode(w, event)));
      await w.stream.flush();
    }
    for (const bytes of await readGradients()) {
      const g = gradientAssembler.add(bytes);
      if (g === undefined) continue;
      if (g.wordCounts) seenCounts.push(g.wordCounts);
      assert.equal(server.offer({ ...g, receivedAtMs: 0 }).kind, 'accepted');
    }
    if (server.pendingCount === 0) continue;
    const report = server.applyRound('arrival');
    const view = server.stateView();
    await send(
      'params',
      paramRecords({
        modelId: 'm',
        version: report.version,
        tensors: new Map(view.params.map((p) => [p.name, { shape: p.shape, data: p.values }])),
        vocabulary: view.vocabulary?.vocabulary.words,
        maxChunkBytes: 256, // several chunks: only chunk 0 carries the vocabulary
      }),
    );
    for (const bytes of await readParams()) {
      const decoded = paramAssembler.add(bytes);
      if (decoded === undefined) continue;
      for (const w of workers) {
        applyParams(w.learner.model.params, decoded);
        wordsVocabulary(w.learner.tokenizer).applyWords(decoded.vocabulary!);
      }
    }
  }

  const serverWords = server.vocabularyWords;
  assert.ok(serverWords.includes('shared'), `${serverWords.join(' ')}`);
  assert.ok(serverWords.includes('fish') && serverWords.includes('cat'));
  for (const w of workers)
    assert.deepEqual(wordsVocabulary(w.learner.tokenizer).words(), serverWords);
  // Every worker maps every word to the server's id, and an unadmitted word to OOV.
  for (const w of workers)
    for (const [id, word] of serverWords.entries())
      assert.equal(wordsVocabulary(w.learner.tokenizer).idOf(word), id);
  assert.ok(seenCounts.length > 0 && seenCounts.every((c) => ![...c.keys()].includes('<oov>')));
  assert.equal(wordsVocabulary(workers[0]!.learner.tokenizer).idOf('never-seen'), OOV_ID);
  for (const w of workers) w.learner.dispose();

  function encode(
    w: (typeof workers)[number],
    event: { key: string; token: string; eos: boolean },
  ) {
    return encodeEvent({
      event,
      index: w.index++,
      spec: w.learner.spec,
      tokens: w.learner.tokenizer,
      labels: w.learner.labels,
      normalizer: w.normalizer,
    });
  }
});
