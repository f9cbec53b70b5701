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

test('two workers and the parameter service agree on word ids through the gradient and parameter records', async () => {
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

  // The two topics, in memory: encoded records exactly as they would go to Kafka.
  const gradientsTopic: Uint8Array[] = [];
  const paramsTopic: Uint8Array[] = [];
  const workers = (['w1', 'w2'] as const).map((workerId) => {
    const learner = createLearner({
      config,
      workerId,
      gradientSink: () => ({
        submit(gradient: WorkerGradient) {
          for (const r of gradientRecords({ gradient })) gradientsTopic.push(r.value!);
          for (const t of gradient.gradients.values()) t.dispose();
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
    for (const bytes of gradientsTopic.splice(0)) {
      const g = gradientAssembler.add(bytes);
      if (g === undefined) continue;
      if (g.wordCounts) seenCounts.push(g.wordCounts);
      assert.equal(server.offer({ ...g, receivedAtMs: 0 }).kind, 'accepted');
    }
    if (server.pendingCount === 0) continue;
    const report = server.applyRound('arrival');
    const view = server.stateView();
    for (const r of paramRecords({
      modelId: 'm',
      version: report.version,
      tensors: new Map(view.params.map((p) => [p.name, { shape: p.shape, data: p.values }])),
      vocabulary: view.vocabulary?.vocabulary.words,
      maxChunkBytes: 256, // several chunks: only chunk 0 carries the vocabulary
    }))
      paramsTopic.push(r.value!);
    for (const bytes of paramsTopic.splice(0)) {
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
