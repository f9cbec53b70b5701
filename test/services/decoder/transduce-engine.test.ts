/**
 * The transduce engine batches sources of mixed lengths and strategies, and batching changes
 * nothing: each request's n-best list is exactly what `transduce()` gives for its source alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { EngineJob } from '../../../services/decoder/decode-engine.js';
import type { DecodeItem } from '../../../services/decoder/request-intake.js';
import { transduceEngine } from '../../../services/decoder/transduce-engine.js';
import { transduceWorkOf, type TransduceWork } from '../../../services/decoder/transduce-jobs.js';
import type { DecodeRequest, TransduceAsk } from '../../../shared/codec/index.js';
import { parseConfig, seq2seqSpecFromConfig } from '../../../shared/config/index.js';
import { transduce } from '../../../shared/decoding/transduce.js';
import { tf } from '../../../shared/engine/tf.js';
import { createTokenizer } from '../../../shared/events/index.js';
import { Seq2seqModel } from '../../../shared/model/seq2seq/seq2seq-model.js';
import type { KafkaBusRecord } from '../../../shared/transport/kafka/index.js';

const config = parseConfig(
  {
    app: 'pairs',
    task: { type: 'seq2seq' },
    input: { tokenizer: 'ids', vocabSize: 9 },
    model: { cell: 'lstm', hidden: 8, embedding: 5 },
    seq2seq: { targetVocabSize: 7, attentionSize: 6, maxSourceLength: 8, maxTargetLength: 6 },
  },
  { source: 'transduce-engine-test' },
);

test('a batch of transduce requests of mixed source lengths and strategies gives each request what transduce() gives its source alone', async () => {
  await tf.setBackend('cpu');
  const model = Seq2seqModel.create({ spec: seq2seqSpecFromConfig(config), seed: 11 });
  const context = {
    app: 'pairs',
    sourceTokens: createTokenizer({ kind: 'ids', vocabSize: 9 }),
    maxSourceLength: 8,
    maxTargetLength: 6,
    bounds: config.decoder,
  };
  const beam = (width: number, lengthPenalty: number) =>
    ({ kind: 'beam', width, lengthPenalty }) as const;
  const asks: Array<{ ask: Partial<TransduceAsk>; maxTokens?: number }> = [
    { ask: { source: [1] } },
    { ask: { source: [2, 3, 4, 5, 6, 7, 8, 0] } },
    { ask: { source: [6, 2] }, maxTokens: 3 },
    { ask: { source: [4, 4, 1], decoding: beam(3, 0.6), nBest: 3 } },
    { ask: { source: [8], decoding: beam(3, 0.6), nBest: 1 } },
    { ask: { source: [0, 1, 2, 3, 4, 5], decoding: beam(3, 0.6), nBest: 2 } },
    { ask: { source: [5, 3], decoding: beam(2, 0), nBest: 2 } },
    { ask: { source: [7, 7, 7, 1], decoding: beam(3, 0.6), nBest: 3 }, maxTokens: 2 },
  ];
  const jobs: EngineJob[] = asks.map(({ ask, maxTokens }, i) => {
    const request: DecodeRequest = {
      requestId: `r${i}`,
      maxTokens,
      ask: {
        kind: 'transduce',
        source: [],
        sourceText: '',
        decoding: { kind: 'greedy' },
        nBest: 0,
        ...ask,
      },
    };
    const work = transduceWorkOf(request, context);
    const item: DecodeItem = {
      partition: 0,
      queuedAt: 0,
      receivedMs: 0,
      record: {} as KafkaBusRecord,
      outcome: { kind: 'job', request, work, deadlineMs: Infinity },
    };
    return { item, request, work };
  });
  const engine = transduceEngine({
    model,
    targetTokens: createTokenizer({ kind: 'ids', vocabSize: 7 }),
    now: () => 5,
  });
  const results = await engine.compute(jobs, { version: 42 });
  assert.equal(results.size, jobs.length);
  for (const job of jobs) {
    const work = job.work as TransduceWork;
    const [alone] = transduce({
      model,
      sources: [work.source],
      strategy: work.strategy,
      maxTargetLength: work.maxTargetLength,
    });
    const result = results.get(job.item)!;
    const what = `request ${job.request.requestId}`;
    assert.equal(result.errorCode, undefined, result.error);
    assert.equal(result.task, 'transduce');
    assert.equal(result.paramVersion, 42);
    assert.equal(result.hypotheses!.length, alone!.length, what);
    result.hypotheses!.forEach((h, k) => {
      const expected = alone![k]!;
      assert.deepEqual(h.tokens, expected.tokens, `${what} hypothesis ${k}`);
      assert.equal(h.text, expected.tokens.join(' '));
      assert.equal(h.finished, expected.finished);
      // Exactly: every row of a batched step is computed as it would be alone.
      assert.equal(h.logProb, expected.logProb, what);
      assert.equal(h.score, expected.score, what);
      assert.deepEqual(h.tokenLogProbs, expected.tokenLogProbs, what);
      assert.ok(h.tokens.length <= work.maxTargetLength);
    });
    const best = result.hypotheses![0]!;
    assert.deepEqual(result.tokens, best.tokens);
    assert.equal(result.logProb, best.logProb);
    assert.equal(result.finishReason, best.finished ? 'stop' : 'length');
  }
  model.dispose();
});
