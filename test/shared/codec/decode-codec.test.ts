/**
 * DecodeRequest / DecodeResult through their protobuf bytes: every field round-trips, requests
 * from older clients (label_events, no deadline) still decode, and bad bytes are InputErrors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  decodeDecodeRequest,
  decodeDecodeResult,
  encodeDecodeRequest,
  encodeDecodeResult,
  rnnstream,
  type DecodeRequest,
  type DecodeResult,
} from '../../../shared/codec/index.js';
import { InputError } from '../../../shared/errors/index.js';
import { DEFAULT_INPUT_LIMITS } from '../../../shared/events/input-limits.js';

const events = [
  { key: 'k', token: 'a', eos: false },
  { key: 'k', features: [0.5, -1], label: [1, 2], eos: true, ts: 1_700_000_000_000 },
];

test('every kind of request decodes to what was encoded', () => {
  const requests: DecodeRequest[] = [
    { requestId: 'g', ask: { kind: 'greedy' }, promptText: 'hi', maxTokens: 5, stopTokens: [10] },
    {
      requestId: 's',
      key: 'doc',
      ask: { kind: 'sample', temperature: 0.7, topK: 40, topP: 0.9, seed: 12345 },
    },
    {
      requestId: 'b',
      promptTokens: [1, 2, 3],
      ask: { kind: 'beam', width: 4, lengthPenalty: 0.6 },
      stream: true,
    },
    {
      requestId: 't',
      key: 'doc',
      ask: { kind: 'tag', events: [], lastSteps: 3 },
      returnState: true,
    },
    {
      requestId: 'c',
      ask: { kind: 'classify', events },
      model: 'demo',
      deadlineMs: 1_800_000_000_000,
      tsMs: 1_799_999_999_000,
    },
    { requestId: 'f', key: 'sensor', ask: { kind: 'forecast', steps: 7, events } },
    { requestId: 'l', ask: { kind: 'labelEvents', events } },
  ];
  for (const request of requests) {
    const back = decodeDecodeRequest(encodeDecodeRequest(request));
    assert.equal(back.requestId, request.requestId);
    assert.equal(back.key, request.key);
    assert.deepEqual(back.ask, request.ask, request.requestId);
    assert.deepEqual(back.promptTokens, request.promptTokens ?? []);
    assert.equal(back.promptText, request.promptText ?? '');
    assert.equal(back.maxTokens, request.maxTokens ?? 0);
    assert.deepEqual(back.stopTokens, request.stopTokens ?? []);
    assert.equal(back.deadlineMs, request.deadlineMs ?? 0);
    assert.equal(back.tsMs, request.tsMs ?? 0);
    assert.equal(back.stream, request.stream ?? false);
    assert.equal(back.model, request.model ?? '');
    assert.equal(back.returnState, request.returnState ?? false);
  }
});

test('a request of an older client (no strategy, label_events, no deadline) still decodes', () => {
  const old = rnnstream.v1.DecodeRequest.encode({ requestId: 'old', maxTokens: 3 }).finish();
  assert.deepEqual(decodeDecodeRequest(old).ask, { kind: 'greedy' });
  const labelled = rnnstream.v1.DecodeRequest.encode({
    requestId: 'old-tag',
    labelEvents: { events: [{ tokenText: 'a' }] },
  }).finish();
  const back = decodeDecodeRequest(labelled);
  assert.equal(back.ask.kind, 'labelEvents');
  // An event without a key takes the request's id.
  assert.deepEqual((back.ask as { events: readonly unknown[] }).events, [
    { key: 'old-tag', token: 'a', eos: false },
  ]);
});

test('every result field round-trips, errors and partials included', () => {
  const results: DecodeResult[] = [
    {
      requestId: 'r1',
      key: 'doc',
      task: 'generate',
      tokens: [104, 105],
      text: 'hi',
      tokenLogProbs: [-0.5, -1.25],
      logProb: -1.75,
      finishReason: 'stop',
      paramVersion: 42,
      tsMs: 1_700_000_000_123,
      timings: { receivedMs: 1_700_000_000_100, queuedMs: 1.5, computeMs: 3.25, batchSize: 8 },
      state: {
        partition: 3,
        changelogOffset: 99,
        keyInputOffset: 17,
        eventsOffset: 18,
        position: 12,
        stateParamVersion: 41,
      },
      startState: Float32Array.of(0.25, -0.5),
      nextDistribution: Float32Array.of(0.75, 0.25),
    },
    {
      requestId: 'r2',
      task: 'tag',
      labels: [
        { index: 0, value: 'noun', confidence: 0.5, probabilities: [0.5, 0.25, 0.25] },
        { index: 1, value: 2, confidence: 0.75, probabilities: [0.125, 0.125, 0.75] },
      ],
      paramVersion: 1,
      tsMs: 5,
    },
    {
      requestId: 'r3',
      task: 'forecast',
      forecasts: [
        [1.5, 2],
        [3, -4],
      ],
      paramVersion: 0,
      tsMs: 6,
    },
    {
      requestId: 'r4',
      task: 'generate',
      error: 'x = 1: bad (fix: y)',
      errorCode: 'invalid_request',
      paramVersion: 0,
      tsMs: 7,
    },
    {
      requestId: 'r5',
      task: 'generate',
      tokens: [1],
      tokenLogProbs: [-2],
      text: '\u0001',
      partial: true,
      paramVersion: 3,
      tsMs: 8,
    },
  ];
  for (const result of results) {
    const back = decodeDecodeResult(encodeDecodeResult(result));
    for (const [field, value] of Object.entries(result))
      assert.deepEqual(
        (back as unknown as Record<string, unknown>)[field],
        value,
        `${result.requestId}.${field}`,
      );
  }
});

test('bytes that are not a request, a request without id, invalid events and an oversized message are InputErrors', () => {
  assert.throws(() => decodeDecodeRequest(Buffer.from([0x0a, 0xff, 0xff])), InputError);
  assert.throws(
    () => decodeDecodeRequest(rnnstream.v1.DecodeRequest.encode({ promptText: 'x' }).finish()),
    /no request_id.*fix/s,
  );
  const badEvent = rnnstream.v1.DecodeRequest.encode({
    requestId: 'e',
    classify: { events: { events: [{ key: 'k', tokenText: 'a', features: [1] }] } },
  }).finish();
  assert.throws(() => decodeDecodeRequest(badEvent), /events\[0\]/);
  const big = encodeDecodeRequest({
    requestId: 'big',
    promptText: 'x'.repeat(2_000),
    ask: { kind: 'greedy' },
  });
  assert.throws(
    () => decodeDecodeRequest(big, { ...DEFAULT_INPUT_LIMITS, maxEventBytes: 1_000 }),
    /over limits.maxEventBytes = 1000/,
  );
  const notUtf8 = Buffer.from(
    rnnstream.v1.DecodeRequest.encode({ requestId: 'id', promptText: 'ab' }).finish(),
  );
  notUtf8[notUtf8.length - 1] = 0xff;
  assert.throws(
    () => decodeDecodeRequest(notUtf8),
    (e: unknown) => e instanceof InputError && /utf-8/i.test(e.message),
  );
});

test('a transduce request (source as mixed tokens or as text, greedy or beam, n-best) and its n-best result round-trip; a non-UTF-8 source token is an InputError', () => {
  const requests: DecodeRequest[] = [
    {
      requestId: 't1',
      maxTokens: 5,
      ask: {
        kind: 'transduce',
        source: ['a', 98, 'c'],
        sourceText: '',
        decoding: { kind: 'beam', width: 3, lengthPenalty: 0.6 },
        nBest: 2,
      },
    },
    {
      requestId: 't2',
      ask: {
        kind: 'transduce',
        source: [],
        sourceText: '4 1 7',
        decoding: { kind: 'greedy' },
        nBest: 0,
      },
    },
  ];
  for (const request of requests) {
    const decoded = decodeDecodeRequest(encodeDecodeRequest(request));
    assert.deepEqual(decoded.ask, request.ask);
    assert.equal(decoded.maxTokens, request.maxTokens ?? 0);
  }
  const hypotheses = [
    {
      tokens: [99, 98],
      text: 'cb',
      tokenLogProbs: [-0.25, -0.5, -0.125],
      logProb: -0.875,
      score: -0.8,
      finished: true,
    },
    {
      tokens: [99, 98, 97],
      text: 'cba',
      tokenLogProbs: [-0.25, -1, -2],
      logProb: -3.25,
      score: -2.5,
      finished: false,
    },
  ];
  const result: DecodeResult = {
    requestId: 't1',
    task: 'transduce',
    tokens: [99, 98],
    text: 'cb',
    tokenLogProbs: [-0.25, -0.5, -0.125],
    logProb: -0.875,
    finishReason: 'stop',
    hypotheses,
    paramVersion: 7,
    tsMs: 1,
  };
  const back = decodeDecodeResult(encodeDecodeResult(result));
  assert.deepEqual(back.hypotheses, hypotheses);
  assert.equal(back.task, 'transduce');
  assert.equal(back.finishReason, 'stop');
  assert.equal(
    decodeDecodeResult(encodeDecodeResult({ requestId: 'g', paramVersion: 0, tsMs: 0 })).hypotheses,
    undefined,
  );

  const notUtf8 = Buffer.from(
    rnnstream.v1.DecodeRequest.encode({
      requestId: 'id',
      transduce: { source: { tokens: [{ text: 'ab' }] } },
    }).finish(),
  );
  notUtf8[notUtf8.length - 1] = 0xff;
  assert.throws(
    () => decodeDecodeRequest(notUtf8),
    (e: unknown) => e instanceof InputError && /utf-8/i.test(e.message),
  );
});
