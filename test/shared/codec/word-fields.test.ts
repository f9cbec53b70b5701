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
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';

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

test('a parameter version spreads its vocabulary over its chunks in id order, and it is found whatever order the chunks come in', () => {
  const vocabulary = ['<oov>', 'the', 'größe', ...Array.from({ length: 60 }, (_, i) => `w${i}`)];
  const chunks = encodeParamChunks(
    { modelId: 'm', version: 7, tensors, vocabulary },
    { maxChunkBytes: 512 },
  );
  assert.ok(chunks.length > 2);
  const slices = chunks.map((c) => decodeParamChunk(c).vocabulary ?? []);
  assert.deepEqual(slices.flat(), vocabulary, 'the slices in chunk order are the list');
  assert.ok(slices.filter((s) => s.length > 0).length > 1, 'spread, not all on one chunk');
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

test('a vocabulary far larger than one message fits the default chunks: every message stays under 1 MB', () => {
  // 120,000 words of up to 64 bytes (the default maxWordBytes): about 5.4 MB of words.
  const vocabulary = Array.from({ length: 120_000 }, (_, i) => `${i}`.padEnd(8 + (i % 57), 'x'));
  const big = new Map([['embedding', { shape: [1000, 64], data: new Float32Array(64_000) }]]);
  const chunks = encodeParamChunks({ modelId: 'm', version: 1, tensors: big, vocabulary });
  assert.ok(chunks.length >= 6, `${chunks.length} chunks`);
  for (const chunk of chunks) assert.ok(chunk.byteLength < 1_000_000, `${chunk.byteLength} bytes`);
  const assembler = new ParamAssembler();
  const decoded = chunks.map((c) => assembler.add(c)).find((d) => d !== undefined);
  assert.deepEqual(decoded?.vocabulary, vocabulary);
  assert.deepEqual(decoded?.tensors.get('embedding')?.data, big.get('embedding')!.data);
});

test('a version written the earlier way, the whole vocabulary on chunk 0, still decodes', () => {
  const vocabulary = ['<oov>', 'a', 'b'];
  const chunks = encodeParamChunks(
    { modelId: 'm', version: 3, tensors, vocabulary },
    { maxChunkBytes: 512 },
  ).map((bytes, index) => {
    const m = rnnstream.v1.ParamChunk.decode(bytes);
    m.vocabulary = index === 0 ? vocabulary : [];
    return rnnstream.v1.ParamChunk.encode(m).finish();
  });
  const assembler = new ParamAssembler();
  const decoded = [...chunks]
    .reverse()
    .map((c) => assembler.add(c))
    .find((d) => d !== undefined);
  assert.deepEqual(decoded?.vocabulary, vocabulary);
});
