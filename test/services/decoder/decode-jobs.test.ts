/** What a request may ask of a model: accepted work, or a rejection with its code, value and fix. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DEFAULT_MAX_TOKENS,
  DecodeRejection,
  decodeWorkOf,
  type JobContext,
} from '../../../services/decoder/decode-jobs.js';
import type { DecodeRequest } from '../../../shared/codec/index.js';
import { modelSpecFromConfig, parseConfig } from '../../../shared/config/index.js';
import { createTokenizer } from '../../../shared/events/index.js';
import type { WordsTokenizer } from '../../../shared/vocabulary/words-tokenizer.js';

function context(task: object = {}, input: object = {}): JobContext {
  const config = parseConfig(
    { app: 'demo', task, input, decoder: { maxPromptTokens: 10, maxBeamWidth: 4 } },
    { source: 'test' },
  );
  return {
    app: 'demo',
    spec: modelSpecFromConfig(config),
    tokenizer: createTokenizer({
      kind: config.input.tokenizer,
      vocabSize: config.input.vocabSize,
      words: config.input,
    }),
    bounds: config.decoder,
    maxKeyBytes: config.limits.maxKeyBytes,
  };
}

const request = (fields: Partial<DecodeRequest>): DecodeRequest => ({
  requestId: 'r',
  ask: { kind: 'greedy' },
  ...fields,
});

function rejected(r: DecodeRequest, ctx: JobContext, code: string, message: RegExp): void {
  assert.throws(
    () => decodeWorkOf(r, ctx),
    (error: unknown) =>
      error instanceof DecodeRejection && error.code === code && message.test(error.message),
  );
}

test('a generation request becomes its prompt tokens, bounds and strategy', () => {
  const work = decodeWorkOf(
    request({
      promptText: 'hé',
      stopTokens: [10],
      ask: { kind: 'sample', temperature: 0.5, topK: 0, topP: 0.9, seed: 3 },
    }),
    context(),
  );
  assert.deepEqual(work, {
    task: 'generate',
    prompt: [...Buffer.from('hé')],
    maxTokens: DEFAULT_MAX_TOKENS,
    stopTokens: [10],
    strategy: { kind: 'sample', temperature: 0.5, topK: undefined, topP: 0.9, seed: 3 },
  });
  const ids = decodeWorkOf(
    request({ promptText: ' 3 14 ', maxTokens: 2 }),
    context({}, { tokenizer: 'ids', vocabSize: 20 }),
  );
  assert.deepEqual(ids, {
    task: 'generate',
    prompt: [3, 14],
    maxTokens: 2,
    stopTokens: [],
    strategy: { kind: 'greedy' },
  });
});

test('bad values, bounds, the wrong model and a task the model does not do are rejected with the fix', () => {
  const lm = context();
  rejected(
    request({ ask: { kind: 'beam', width: 0, lengthPenalty: 0 } }),
    lm,
    'invalid_request',
    /beam.width = 0.*fix/,
  );
  rejected(
    request({ ask: { kind: 'beam', width: 2, lengthPenalty: -1 } }),
    lm,
    'invalid_request',
    /length_penalty = -1/,
  );
  rejected(
    request({ ask: { kind: 'sample', temperature: 1, topK: 0, topP: 1.5, seed: 1 } }),
    lm,
    'invalid_request',
    /topP = 1.5/,
  );
  rejected(
    request({ promptTokens: Array(11).fill(1) }),
    lm,
    'invalid_request',
    /prompt of 11 tokens.*maxPromptTokens = 10/,
  );
  rejected(request({ promptTokens: [300] }), lm, 'invalid_request', /prompt_tokens\[0\] = 300/);
  rejected(request({ stopTokens: [256] }), lm, 'invalid_request', /stop_tokens\[0\] = 256/);
  rejected(
    request({ maxTokens: 5_000 }),
    lm,
    'invalid_request',
    /max_tokens = 5000.*decoder.maxTokens/,
  );
  rejected(request({ model: 'other' }), lm, 'wrong_model', /"other".*serves "demo"/);
  rejected(
    request({ ask: { kind: 'tag', events: [], lastSteps: 2 }, key: 'k' }),
    lm,
    'wrong_model',
    /task "tag"/,
  );
  rejected(request({ key: 'k'.repeat(2_000) }), lm, 'invalid_request', /maxKeyBytes/);
  rejected(
    request({ promptText: 'x y' }),
    context({}, { tokenizer: 'ids', vocabSize: 20 }),
    'invalid_request',
    /prompt_text/,
  );
});

test('tag, classify and forecast requests need events or a key, and say which', () => {
  const tag = context({ type: 'tag', labels: ['a', 'b'] });
  const events = [{ key: 'k', token: 'a', eos: false }];
  assert.deepEqual(decodeWorkOf(request({ ask: { kind: 'tag', events, lastSteps: 0 } }), tag), {
    task: 'tag',
    events,
    lastSteps: 0,
  });
  assert.deepEqual(
    decodeWorkOf(request({ key: 'k', ask: { kind: 'tag', events: [], lastSteps: 0 } }), tag),
    { task: 'tag', events: [], lastSteps: 1 },
  );
  assert.deepEqual(decodeWorkOf(request({ ask: { kind: 'labelEvents', events } }), tag), {
    task: 'tag',
    events,
    lastSteps: 0,
  });
  rejected(
    request({ ask: { kind: 'tag', events: [], lastSteps: 0 } }),
    tag,
    'invalid_request',
    /without events or key/,
  );
  rejected(
    request({ key: 'k', ask: { kind: 'tag', events, lastSteps: 2 } }),
    tag,
    'invalid_request',
    /not both/,
  );
  const classify = context({ type: 'classify', labels: ['a', 'b'] });
  assert.deepEqual(decodeWorkOf(request({ ask: { kind: 'labelEvents', events } }), classify), {
    task: 'classify',
    events,
  });
  const forecast = context({ type: 'forecast' }, { kind: 'features', featureSize: 2 });
  rejected(
    request({ key: 'k', ask: { kind: 'forecast', steps: 0, events: [] } }),
    forecast,
    'invalid_request',
    /forecast.steps = 0/,
  );
  rejected(
    request({ ask: { kind: 'forecast', steps: 3, events: [] } }),
    forecast,
    'invalid_request',
    /without events or key/,
  );
  rejected(request({ promptText: 'x' }), forecast, 'wrong_model', /task "lm"/);
});

test('words: a prompt is split like text input and looked up in the served vocabulary, unknown words as <oov>, without counting them', () => {
  const ctx = context({}, { tokenizer: 'words', vocabSize: 8, lowercase: true });
  const tokenizer = ctx.tokenizer as WordsTokenizer;
  tokenizer.vocabulary.applyWords(['<oov>', 'the', 'cat', '.']);
  const work = decodeWorkOf(request({ promptText: 'The CAT, zebra.' }), ctx);
  assert.ok(work.task === 'generate');
  assert.deepEqual(work.prompt, [1, 2, 0, 0, 3]);
  assert.equal(tokenizer.unseen.size, 0);
});
