import { test } from 'node:test';
import assert from 'node:assert/strict';

import { modelSpecFromConfig, parseConfig } from '../../../shared/config/index.js';
import { ShapeError } from '../../../shared/errors/index.js';
import { initialParameters } from '../../../shared/model/initial-parameters.js';
import {
  ParameterServer,
  parameterServerOptionsFromConfig,
} from '../../../shared/paramserver/parameter-server.js';
import {
  ServerVocabulary,
  vocabularyFromWords as vocabularyFromWords,
} from '../../../shared/vocabulary/server-vocabulary.js';
import type { WordVectorTable } from '../../../shared/vocabulary/word-vectors.js';

const E = 3;
const config = parseConfig(
  {
    input: { tokenizer: 'words', vocabSize: 6, minWordCount: 2 },
    model: { cell: 'rnn', hidden: 4, embedding: E },
    optimizer: { type: 'adam', learningRate: 0.1 },
  },
  { source: 'test' },
);
const spec = modelSpecFromConfig(config);

const table: WordVectorTable = {
  dimension: E,
  words: ['the', 'cat', 'sat'],
  vectors: new Map([
    ['the', Float32Array.of(1, 2, 3)],
    ['cat', Float32Array.of(-1, 0.5, 0)],
    ['sat', Float32Array.of(4, 4, 4)],
  ]),
};

function server({ freeze, seedWords = 0 }: { freeze: boolean; seedWords?: number }) {
  const words = new ServerVocabulary({
    rules: { capacity: 6, minCount: 2, maxCandidates: 64 },
    pretrained: { table, freeze, seedWords },
  });
  const params = initialParameters(spec, 7);
  return ParameterServer.create({
    options: parameterServerOptionsFromConfig(config),
    state: { version: 0, scheduleStep: 0, params },
    words,
  });
}

/** A gradient of 0.5 everywhere, with the word counts a worker reports. */
function gradient(step: number, wordCounts: Record<string, number>) {
  const tensors = new Map(
    initialParameters(spec, 0).map(({ name, shape, values }) => [
      name,
      { shape, data: new Float32Array(values.length).fill(0.5) },
    ]),
  );
  return {
    workerId: 'w',
    step,
    paramVersion: step,
    tokens: 4,
    lossSum: 1,
    tensors,
    receivedAtMs: 0,
    wordCounts: new Map(Object.entries(wordCounts)),
  };
}

const row = (s: ParameterServer, id: number) => [
  ...s
    .parameterValues()
    .get('embedding')!
    .subarray(id * E, (id + 1) * E),
];

test('an admitted word with a pretrained vector gets it in its row; a word without one keeps its random row', () => {
  const s = server({ freeze: true });
  const before = row(s, 2);
  assert.equal(s.offer(gradient(0, { cat: 2, dog: 3 })).kind, 'accepted');
  const report = s.applyRound('arrival');
  assert.deepEqual(report.admittedWords, ['dog', 'cat']);
  assert.deepEqual(s.vocabularyWords, ['<oov>', 'dog', 'cat']);
  assert.deepEqual(row(s, 2), [-1, 0.5, 0]);
  assert.notDeepEqual(row(s, 1), before); // dog: random, then one update
});

test('seedWords gives the file first words ids in file order, with their vectors', () => {
  const s = server({ freeze: false, seedWords: 2 });
  assert.deepEqual(s.vocabularyWords, ['<oov>', 'the', 'cat']);
  assert.deepEqual(row(s, 1), [1, 2, 3]);
  assert.deepEqual(row(s, 2), [-1, 0.5, 0]);
});

test('frozen pretrained rows stay exactly as loaded through training; fine-tuned ones move', () => {
  for (const freeze of [true, false]) {
    const s = server({ freeze, seedWords: 2 });
    const other = row(s, 5);
    for (let step = 0; step < 5; step++) {
      s.offer(gradient(step, {}));
      s.applyRound('arrival');
    }
    const moved = (a: number[], b: number[]) => a.some((x, i) => x !== b[i]);
    assert.equal(moved(row(s, 1), [1, 2, 3]), !freeze, `freeze ${freeze}: 'the'`);
    assert.equal(moved(row(s, 2), [-1, 0.5, 0]), !freeze, `freeze ${freeze}: 'cat'`);
    assert.ok(moved(row(s, 5), other), 'a row without a pretrained vector trains');
  }
});

test('the vocabulary, its waiting counts and the frozen rows survive state() / create({ state })', () => {
  const s = server({ freeze: true, seedWords: 1 });
  s.offer(gradient(0, { cat: 2, emu: 1 }));
  s.applyRound('arrival');
  const state = s.state();
  assert.deepEqual(state.vocabulary?.vocabulary.words, ['<oov>', 'the', 'cat']);
  assert.deepEqual(state.vocabulary?.candidates, [['emu', 1]]);
  assert.deepEqual(state.vocabulary?.frozenIds, [1, 2]);
  const restored = ParameterServer.create({
    options: parameterServerOptionsFromConfig(config),
    state,
    words: new ServerVocabulary({
      rules: { capacity: 6, minCount: 2, maxCandidates: 64 },
      pretrained: { table, freeze: true, seedWords: 1 },
      saved: JSON.parse(JSON.stringify(state.vocabulary)),
    }),
  });
  assert.deepEqual(restored.vocabularyWords, ['<oov>', 'the', 'cat']);
  restored.offer(gradient(1, { emu: 1 }));
  assert.deepEqual(restored.applyRound('arrival').admittedWords, ['emu']);
  assert.deepEqual(row(restored, 1), [1, 2, 3], 'still frozen after the restore');
  assert.deepEqual(row(restored, 2), [-1, 0.5, 0]);
});

test('vectors of another width than model.embedding are refused with the fix', () => {
  const words = new ServerVocabulary({
    rules: { capacity: 6, minCount: 2, maxCandidates: 64 },
    pretrained: { table: { ...table, dimension: 5 }, freeze: true, seedWords: 0 },
  });
  assert.throws(
    () =>
      ParameterServer.create({
        options: parameterServerOptionsFromConfig(config),
        state: { version: 0, scheduleStep: 0, params: initialParameters(spec, 7) },
        words,
      }),
    (error: unknown) =>
      error instanceof ShapeError && /set model.embedding to 5/.test(error.message),
  );
});

test('a paramserver checkpoint round-trips the vocabulary, its waiting counts and frozen rows, and checks them when read', async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readCheckpoint, writeCheckpoint } =
    await import('../../../shared/paramserver/checkpoint-file.js');
  const s = server({ freeze: true, seedWords: 1 });
  s.offer(gradient(0, { cat: 2, emu: 1 }));
  s.applyRound('arrival');
  const dir = await mkdtemp(join(tmpdir(), 'words-ckpt-'));
  const base = { modelId: 'm', spec, gradientOffsets: [], writtenAtMs: 1 };
  await writeCheckpoint(dir, { ...s.state(), ...base });
  const restored = await readCheckpoint(dir, 'm');
  assert.deepEqual(restored?.vocabulary, s.state().vocabulary);
  assert.deepEqual(restored?.vocabulary?.candidates, [['emu', 1]]);
  // Checked when read: a header vocabulary that does not hold together is named, not half-used.
  const { vocabularyProblem } = await import('../../../shared/vocabulary/vocabulary-check.js');
  const good = s.state().vocabulary!;
  assert.equal(vocabularyProblem(good), undefined);
  assert.match(vocabularyProblem({ ...good, frozenIds: [1, 9] })!, /frozenIds/);
  assert.match(
    vocabularyProblem({ ...good, vocabulary: { capacity: 6, words: ['<oov>', 'a', 'a'] } })!,
    /repeats a word/,
  );
  assert.match(vocabularyProblem({ ...good, candidates: [['x', -1]] })!, /candidates/);
});

test('a vocabulary known only by its words (a published version, a parameter file) keeps its ids and re-derives the frozen rows', () => {
  const s = server({ freeze: true, seedWords: 2 });
  const words = s.vocabularyWords;
  const restored = ParameterServer.create({
    options: parameterServerOptionsFromConfig(config),
    state: { ...s.state(), vocabulary: vocabularyFromWords(words, 6) },
    words: new ServerVocabulary({
      rules: { capacity: 6, minCount: 2, maxCandidates: 64 },
      pretrained: { table, freeze: true, seedWords: 2 },
      saved: vocabularyFromWords(words, 6),
    }),
  });
  assert.deepEqual(restored.vocabularyWords, ['<oov>', 'the', 'cat']);
  for (let step = 0; step < 3; step++) {
    restored.offer(gradient(step, {}));
    restored.applyRound('arrival');
  }
  assert.deepEqual(row(restored, 1), [1, 2, 3]);
  assert.deepEqual(restored.state().vocabulary?.frozenIds, [1, 2]);
});

test('a gradient dropped as stale still brings its word counts, once', () => {
  const s = server({ freeze: false });
  for (let step = 0; step < 4; step++) {
    s.offer({ ...gradient(step, {}), workerId: 'a', paramVersion: s.version });
    s.applyRound('arrival');
  }
  // Computed on version 0, now 4 behind (paramserver.staleness is 2 by default): dropped.
  const stale = { ...gradient(9, { emu: 2 }), workerId: 'b', paramVersion: 0 };
  assert.equal(s.offer(stale).kind, 'dropped');
  assert.equal(s.offer(stale).kind, 'duplicate'); // not counted twice
  s.offer({ ...gradient(10, {}), workerId: 'a', paramVersion: s.version });
  assert.deepEqual(s.applyRound('arrival').admittedWords, ['emu']);
});
