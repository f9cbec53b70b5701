/**
 * What a request may ask of a seq2seq model: a transduce request becomes work (its source encoded
 * as a pair event's, its decoding and bounds checked); anything wrong is refused with the error
 * code and a message naming the value, the reason and the fix; a stream model refuses transduce.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DecodeRejection, decodeWorkOf } from '../../../services/decoder/decode-jobs.js';
import {
  transduceWorkOf,
  type TransduceContext,
} from '../../../services/decoder/transduce-jobs.js';
import type { DecodeRequest, TransduceAsk } from '../../../shared/codec/index.js';
import { modelSpecFromConfig, parseConfig } from '../../../shared/config/index.js';
import { createTokenizer } from '../../../shared/events/index.js';

function context(tokenizer: 'ids' | 'bytes' = 'ids'): TransduceContext {
  const config = parseConfig(
    {
      app: 'pairs',
      task: { type: 'seq2seq' },
      input: tokenizer === 'ids' ? { tokenizer, vocabSize: 8 } : { tokenizer },
      seq2seq: { maxSourceLength: 5, maxTargetLength: 4 },
      decoder: { maxBeamWidth: 4 },
    },
    { source: 'test' },
  );
  return {
    app: 'pairs',
    sourceTokens: createTokenizer({ kind: tokenizer, vocabSize: config.input.vocabSize }),
    maxSourceLength: config.seq2seq.maxSourceLength,
    maxTargetLength: config.seq2seq.maxTargetLength,
    bounds: config.decoder,
  };
}

const transduceRequest = (
  ask: Partial<TransduceAsk> = {},
  fields: Partial<DecodeRequest> = {},
): DecodeRequest => ({
  requestId: 'r',
  ask: {
    kind: 'transduce',
    source: [1, 2, 3],
    sourceText: '',
    decoding: { kind: 'greedy' },
    nBest: 0,
    ...ask,
  },
  ...fields,
});

function rejected(r: DecodeRequest, code: string, message: RegExp, ctx = context()): void {
  assert.throws(
    () => transduceWorkOf(r, ctx),
    (error: unknown) => {
      assert.ok(error instanceof DecodeRejection, String(error));
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
      assert.match(error.message, /\(fix: .+\)/, `no fix in: ${error.message}`);
      return true;
    },
  );
}

test('a transduce request becomes work: ids encoded, greedy by default, max tokens defaulting to seq2seq.maxTargetLength', () => {
  assert.deepEqual(transduceWorkOf(transduceRequest({ source: [3, '1', 4] }), context()), {
    task: 'transduce',
    source: [3, 1, 4],
    strategy: { type: 'greedy' },
    maxTargetLength: 4,
  });
  const beam = transduceWorkOf(
    transduceRequest(
      {
        sourceText: ' 7 0 ',
        source: [],
        decoding: { kind: 'beam', width: 3, lengthPenalty: 0.6 },
        nBest: 2,
      },
      { maxTokens: 2 },
    ),
    context(),
  );
  assert.deepEqual(beam.source, [7, 0]);
  assert.deepEqual(beam.strategy, { type: 'beam', beamWidth: 3, lengthPenalty: 0.6, nBest: 2 });
  assert.equal(beam.maxTargetLength, 2);
});

test('with the bytes tokenizer a source is one-byte strings and/or byte ids, or text read as UTF-8 bytes', () => {
  const ctx = context('bytes');
  assert.deepEqual(transduceWorkOf(transduceRequest({ source: ['a', 98] }), ctx).source, [97, 98]);
  assert.deepEqual(
    transduceWorkOf(transduceRequest({ source: [], sourceText: 'hé' }), ctx).source,
    [104, 0xc3, 0xa9],
  );
  rejected(
    transduceRequest({ source: ['é'] }),
    'invalid_request',
    /source\[0\]: token "é" is 2 UTF-8 bytes/,
    ctx,
  );
});

test('a bad source is invalid_request with the value and the fix: empty, too long, out of vocabulary, given twice', () => {
  rejected(transduceRequest({ source: [] }), 'invalid_request', /empty source/);
  rejected(
    transduceRequest({ source: [1, 2, 3, 4, 5, 6] }),
    'invalid_request',
    /source has 6 tokens, over seq2seq\.maxSourceLength = 5/,
  );
  rejected(transduceRequest({ source: [1, 9] }), 'invalid_request', /source\[1\]: .*9/);
  rejected(
    transduceRequest({ source: [], sourceText: '1 2 x' }),
    'invalid_request',
    /transduce\.source_text: .*"x"/,
  );
  rejected(
    transduceRequest({ source: [1], sourceText: '1' }),
    'invalid_request',
    /both source \(1 tokens\) and source_text "1"/,
  );
});

test('bad decoding values are invalid_request: width, length penalty, n-best, max tokens', () => {
  const beam = (width: number, lengthPenalty = 0) => ({
    decoding: { kind: 'beam' as const, width, lengthPenalty },
  });
  rejected(
    transduceRequest(beam(0)),
    'invalid_request',
    /transduce\.beam\.width = 0: must be in \[1, 4\]/,
  );
  rejected(
    transduceRequest(beam(9)),
    'invalid_request',
    /transduce\.beam\.width = 9.*decoder\.maxBeamWidth/,
  );
  rejected(
    transduceRequest(beam(2, -1)),
    'invalid_request',
    /transduce\.beam\.length_penalty = -1/,
  );
  rejected(transduceRequest(beam(2, NaN)), 'invalid_request', /length_penalty = NaN/);
  rejected(
    transduceRequest({ ...beam(3), nBest: 4 }),
    'invalid_request',
    /n_best = 4: a beam of width 3 keeps only 3 hypotheses/,
  );
  rejected(
    transduceRequest({ nBest: 2 }),
    'invalid_request',
    /n_best = 2: greedy decoding finds one/,
  );
  rejected(
    transduceRequest({}, { maxTokens: 5 }),
    'invalid_request',
    /max_tokens = 5 is over the model's seq2seq\.maxTargetLength = 4/,
  );
});

test('what a seq2seq model does not take is refused: a key (no per-key state), prompts, stop tokens', () => {
  rejected(transduceRequest({}, { key: 'k' }), 'invalid_request', /key "k".*no per-key state/);
  rejected(
    transduceRequest({}, { promptText: 'ab' }),
    'invalid_request',
    /prompt_tokens \/ prompt_text/,
  );
  rejected(transduceRequest({}, { stopTokens: [2] }), 'invalid_request', /stop_tokens \[2\]/);
});

test('other request types on a seq2seq model, and transduce on a stream model, are wrong_model', () => {
  rejected(
    { requestId: 'r', ask: { kind: 'tag', events: [], lastSteps: 1 }, key: 'k' },
    'wrong_model',
    /a tag request needs a model of task "tag" but this decoder serves task "seq2seq" \(fix: send transduce requests here/,
  );
  rejected({ requestId: 'r', ask: { kind: 'greedy' } }, 'wrong_model', /a generate request/);
  rejected(
    transduceRequest({}, { model: 'other' }),
    'wrong_model',
    /model "other": this decoder serves "pairs"/,
  );
  const lm = parseConfig({ app: 'demo' }, { source: 'test' });
  assert.throws(
    () =>
      decodeWorkOf(transduceRequest(), {
        app: 'demo',
        spec: modelSpecFromConfig(lm),
        tokenizer: createTokenizer({ kind: 'bytes', vocabSize: 256 }),
        bounds: lm.decoder,
        maxKeyBytes: lm.limits.maxKeyBytes,
      }),
    (error: unknown) =>
      error instanceof DecodeRejection &&
      error.code === 'wrong_model' &&
      /a transduce request needs a model of task "seq2seq" but this decoder serves task "lm" \(fix: send generate requests here/.test(
        error.message,
      ),
  );
});
