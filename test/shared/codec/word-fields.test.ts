import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MAX_WORD_COUNTS,
  decodeGradientChunks,
  encodeGradientChunks,
} from '../../../shared/codec/gradient-codec.js';
import {
  ParamAssembler,
  decodeParamChunk,
  encodeParamChunks,
} from '../../../shared/codec/param-codec.js';

const tensors = new Map([
  ['w', { shape: [64, 8], data: Float32Array.from({ length: 512 }, (_, i) => i / 7) }],
]);

test('a gradient carries its word counts on every chunk and decodes them back', () => {
  const chunks = encodeGradientChunks(
    {
      workerId: 'w1',
      step: 3,
      paramVersion: 2,
      tokens: 5,
      lossSum: 1,
      tensors,
      wordCounts: new Map([
        ['größe', 4],
        ['cat', 1],
      ]),
    },
    { maxChunkBytes: 512 },
  );
  assert.ok(chunks.length > 2);
  const decoded = decodeGradientChunks([...chunks].reverse());
  assert.deepEqual(
    [...decoded.wordCounts!],
    [
      ['größe', 4],
      ['cat', 1],
    ],
  );
  const many = new Map(Array.from({ length: MAX_WORD_COUNTS + 1 }, (_, i) => [`w${i}`, 1]));
  assert.throws(
    () =>
      encodeGradientChunks({
        workerId: 'w',
        step: 1,
        paramVersion: 0,
        tokens: 1,
        lossSum: 0,
        tensors,
        wordCounts: many,
      }),
    /at most 1024/,
  );
});

test('a parameter version carries its vocabulary on chunk 0 only, and it is found whatever order the chunks come in', () => {
  const vocabulary = ['<oov>', 'the', 'größe'];
  const chunks = encodeParamChunks(
    { modelId: 'm', version: 7, tensors, vocabulary },
    { maxChunkBytes: 512 },
  );
  assert.ok(chunks.length > 2);
  assert.deepEqual(decodeParamChunk(chunks[0]!).vocabulary, vocabulary);
  for (const chunk of chunks.slice(1)) assert.equal(decodeParamChunk(chunk).vocabulary, undefined);
  for (const order of [
    chunks,
    [...chunks].reverse(),
    [chunks[1]!, chunks[0]!, ...chunks.slice(2)],
  ]) {
    const assembler = new ParamAssembler();
    const decoded = order.map((c) => assembler.add(c)).find((d) => d !== undefined);
    assert.deepEqual(decoded?.vocabulary, vocabulary);
  }
  // A version without one (bytes and ids models) decodes without one.
  const plain = new ParamAssembler();
  const decoded = encodeParamChunks({ modelId: 'm', version: 8, tensors })
    .map((c) => plain.add(c))
    .find((d) => d !== undefined);
  assert.equal(decoded?.vocabulary, undefined);
});
