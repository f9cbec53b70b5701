import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InputError } from '../../../shared/errors/index.js';
import {
  loadWordVectors,
  readWordVectors,
  type WordVectorFormat,
} from '../../../shared/vocabulary/word-vectors.js';

const dir = await mkdtemp(join(tmpdir(), 'word-vectors-'));
let files = 0;
async function file(content: string | Buffer): Promise<string> {
  const path = join(dir, `v${files++}`);
  await writeFile(path, content);
  return path;
}

async function rows(path: string, format: WordVectorFormat) {
  const out: Array<[string, number[]]> = [];
  for await (const row of readWordVectors(path, format)) out.push([row.word, [...row.vector]]);
  return out;
}

// IEEE-754 single precision, little-endian, written out by hand:
// 1.5 = 0x3FC00000, -2 = 0xC0000000, 0.25 = 0x3E800000, 0 = 0, 3 = 0x40400000, -0.5 = 0xBF000000.
const F32 = {
  '1.5': [0x00, 0x00, 0xc0, 0x3f],
  '-2': [0x00, 0x00, 0x00, 0xc0],
  '0.25': [0x00, 0x00, 0x80, 0x3e],
  '0': [0x00, 0x00, 0x00, 0x00],
  '3': [0x00, 0x00, 0x40, 0x40],
  '-0.5': [0x00, 0x00, 0x00, 0xbf],
} as const;
const ascii = (text: string) => [...Buffer.from(text, 'utf8')];

test('a word2vec binary file (header, word, space, little-endian float32s, optional newline) is read row by row', async () => {
  const bytes = Buffer.from([
    ...ascii('3 2\n'),
    ...ascii('the '),
    ...F32['1.5'],
    ...F32['-2'],
    0x0a, // word2vec's own writer: newline after a vector
    ...ascii('größe '),
    ...F32['0.25'],
    ...F32['0'], //      gensim's: none
    ...ascii('cat '),
    ...F32['3'],
    ...F32['-0.5'],
    0x0a,
  ]);
  assert.deepEqual(await rows(await file(bytes), 'word2vec-binary'), [
    ['the', [1.5, -2]],
    ['größe', [0.25, 0]],
    ['cat', [3, -0.5]],
  ]);
});

test('a word2vec text file and a GloVe file give the same rows', async () => {
  const body = 'the 1.5 -2\ngröße 0.25 0\ncat 3 -0.5 \n';
  const expected = [
    ['the', [1.5, -2]],
    ['größe', [0.25, 0]],
    ['cat', [3, -0.5]],
  ];
  assert.deepEqual(await rows(await file(`3 2\n${body}`), 'word2vec-text'), expected);
  assert.deepEqual(await rows(await file(body), 'glove'), expected);
});

test('loading keeps the first maxWords rows, normalised, first occurrence winning', async () => {
  const path = await file('4 1\nThe 1\nthe 2\ncat 3\ndog 4\n');
  const table = await loadWordVectors(path, {
    format: 'word2vec-text',
    maxWords: 3,
    normalize: (w) => w.toLowerCase(),
  });
  assert.equal(table.dimension, 1);
  assert.deepEqual(table.words, ['the', 'cat']);
  assert.deepEqual([...table.vectors.get('the')!], [1]);
  assert.equal(table.vectors.has('dog'), false);
});

const refused = (pattern: RegExp) => (error: unknown) =>
  error instanceof InputError && pattern.test(error.message) && /fix:/.test(error.message);

test('bad files are refused with the line or byte offset and the layout expected', async () => {
  await assert.rejects(
    rows(await file('three 2\na 1 2\n'), 'word2vec-text'),
    refused(/line 1: header/),
  );
  await assert.rejects(
    rows(await file('2 2\na 1 2\nb 1\n'), 'word2vec-text'),
    refused(/line 3: 1 numbers after the word, expected 2/),
  );
  await assert.rejects(
    rows(await file('2 2\na 1 2\nb 1 2 3\n'), 'word2vec-text'),
    refused(/line 3: 3 fields/),
  );
  await assert.rejects(
    rows(await file('a 1 2\nb 1 x\n'), 'glove'),
    refused(/line 2: value 2 of "b" is "x", not a finite number/),
  );
  await assert.rejects(
    rows(await file('3 2\na 1 2\nb 1 2\n'), 'word2vec-text'),
    refused(/2 rows, but the header announces 3/),
  );
  await assert.rejects(rows(await file('a 1 NaN\n'), 'glove'), refused(/not a finite number/));
  const truncated = Buffer.from([
    ...ascii('2 2\n'),
    ...ascii('the '),
    ...F32['1.5'],
    ...F32['-2'],
    ...ascii('cat '),
    ...F32['3'],
  ]);
  await assert.rejects(
    rows(await file(truncated), 'word2vec-binary'),
    refused(/offset 20: the file ends inside the vector of "cat"/),
  );
  await assert.rejects(
    rows(await file('the 1.5 -2\n'), 'word2vec-binary'),
    refused(/line 1: header/),
  );
  await assert.rejects(rows(join(dir, 'absent'), 'glove'), refused(/cannot read word vectors/));
  await assert.rejects(
    rows(join(dir, 'absent'), 'word2vec-binary'),
    refused(/cannot read word vectors/),
  );
});

test('word2vec text and binary files are read into the embedding rows of their words', async () => {
  const { parseConfig, modelSpecFromConfig } = await import('../../../shared/config/index.js');
  const { initialParameters } = await import('../../../shared/model/initial-parameters.js');
  const { ParameterServer, parameterServerOptionsFromConfig } =
    await import('../../../shared/paramserver/parameter-server.js');
  const { serverVocabularyFromConfig } =
    await import('../../../shared/vocabulary/server-vocabulary-from-config.js');
  const binary = await file(
    Buffer.from([
      ...ascii('2 2\n'),
      ...ascii('The '),
      ...F32['1.5'],
      ...F32['-2'],
      0x0a,
      ...ascii('cat '),
      ...F32['0.25'],
      ...F32['3'],
      0x0a,
    ]),
  );
  const text = await file('2 2\nThe 1.5 -2\ncat 0.25 3\n');
  for (const [path, format] of [
    [binary, 'word2vec-binary'],
    [text, 'word2vec-text'],
  ] as const) {
    const config = parseConfig(
      {
        input: {
          tokenizer: 'words',
          vocabSize: 5,
          lowercase: true,
          pretrained: { path, format, seedWords: 2 },
        },
        model: { cell: 'rnn', hidden: 3, embedding: 2 },
      },
      { source: format },
    );
    const server = ParameterServer.create({
      options: parameterServerOptionsFromConfig(config),
      state: {
        version: 0,
        scheduleStep: 0,
        params: initialParameters(modelSpecFromConfig(config), 1),
      },
      words: await serverVocabularyFromConfig(config),
    });
    assert.deepEqual(server.vocabularyWords, ['<oov>', 'the', 'cat'], format);
    const embedding = server.parameterValues().get('embedding')!;
    assert.deepEqual([...embedding.subarray(2, 6)], [1.5, -2, 0.25, 3], format);
  }
});
