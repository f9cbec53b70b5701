import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { runEmbedded } from '../../../services/embedded/run-embedded.js';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { loadParameterFile, saveParameterFile } from '../../../shared/model/parameter-file.js';
import { wordsOfParameterFile } from '../../../shared/vocabulary/parameter-file-vocabulary.js';
import { wordsText, wordPromptIds } from '../../../shared/vocabulary/word-text.js';
import { wordsVocabulary } from '../../../shared/vocabulary/words-tokenizer.js';
import { memoryLogger, tempDir } from '../../support/run-helpers.js';

const TEXT =
  'The cat sat on the mat. The dog sat on the log. A cat and a dog sat on the mat and the log. ';

test('a words run on text files: ids appear as words reach minWordCount, OOV before, bounded by vocabSize, saved with the parameters', async () => {
  await selectBackend({ requested: 'cpu' });
  const dir = await tempDir('words-run');
  await writeFile(join(dir, 'a.txt'), TEXT.repeat(6));
  await writeFile(join(dir, 'b.txt'), TEXT.repeat(4).toUpperCase());
  const outputPath = join(dir, 'predictions.jsonl');
  const config = parseConfig(
    {
      input: { tokenizer: 'words', vocabSize: 9, minWordCount: 3, lowercase: true },
      model: { cell: 'gru', hidden: 16, embedding: 8 },
      tbptt: { k1: 4, k2: 8, maxWaitMs: 0 },
      optimizer: { learningRate: 0.02 },
    },
    { source: 'words-run' },
  );
  const { summary, learner } = await runEmbedded({
    config,
    inputPaths: [dir.concat('/a.txt'), dir.concat('/b.txt')],
    inputFormat: 'text',
    outputPath,
    logger: memoryLogger().logger,
  });
  const vocabulary = wordsVocabulary(learner.tokenizer);
  // 10 distinct words: 8 get ids (capacity 9 with <oov>), the other 2 stay OOV for good.
  assert.equal(vocabulary.size, 9);
  assert.equal(vocabulary.wordOf(0), '<oov>');
  const words = vocabulary.words().slice(1);
  assert.equal(new Set(words).size, 8);
  for (const w of words) assert.ok(TEXT.toLowerCase().includes(w), w);
  assert.ok(vocabulary.full);

  const predictions = (await readFile(outputPath, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { paramVersion: number; bits: number; line: number });
  assert.equal(predictions.length, summary.events);
  // One batch: every event was encoded before the first word was admitted.
  assert.equal(summary.metrics.oovRate, 1);
  assert.equal(summary.events, 27 * 10); // 27 words (with the '.'s) per sentence group, 10 groups
  // Honest scoring: every prediction is scored, OOV targets as the OOV class; later is better.
  const bits = (from: number, to: number) =>
    predictions.slice(from, to).reduce((s, p) => s + p.bits, 0) / (to - from);
  assert.ok(bits(predictions.length - 60, predictions.length) < bits(0, 60));

  // The parameter file keeps the vocabulary; generate maps prompts and outputs with it.
  const path = join(dir, 'params.bin');
  await saveParameterFile(path, {
    spec: learner.spec,
    params: learner.model.params,
    config,
    vocabulary: vocabulary.toJSON(),
  });
  const restored = wordsOfParameterFile(await loadParameterFile(path), path)!;
  assert.deepEqual(restored.vocabulary.words(), vocabulary.words());
  const ids = wordPromptIds('The CAT zebra', restored.options, restored.vocabulary);
  assert.deepEqual(ids, [vocabulary.idOf('the'), vocabulary.idOf('cat'), 0]);
  assert.equal(wordsText([...ids, 9], restored.vocabulary), `the cat <oov>`);
  learner.dispose();
});

test('pretrained vectors in an embedded run: admitted words get their rows; frozen rows end the run unchanged, fine-tuned ones move', async () => {
  await selectBackend({ requested: 'cpu' });
  const dir = await tempDir('words-pretrained');
  // Over 4,096 words: an embedded run encodes its input 4,096 events at a time, with the
  // vocabulary as of the batch start, so admitted ids are read (and their rows trained) from the
  // second batch on.
  await writeFile(join(dir, 'a.txt'), TEXT.repeat(200));
  // GloVe text: "the" and "cat" have vectors, the other words do not.
  const vectors = { the: [0.5, -0.25, 0.125, 1], cat: [-1, 0.75, 0, 0.5] };
  const glove = join(dir, 'vectors.txt');
  await writeFile(
    glove,
    Object.entries(vectors)
      .map(([w, v]) => `${w} ${v.join(' ')}\n`)
      .join(''),
  );
  const embeddingRow = (
    learner: { model: { params: { toNamedArrays(): Map<string, { data: Float32Array }> } } },
    id: number,
  ) => [
    ...learner.model.params
      .toNamedArrays()
      .get('embedding')!
      .data.subarray(id * 4, id * 4 + 4),
  ];
  for (const freeze of [true, false]) {
    const config = parseConfig(
      {
        input: {
          tokenizer: 'words',
          vocabSize: 12,
          minWordCount: 2,
          lowercase: true,
          pretrained: { path: glove, format: 'glove', freeze },
        },
        model: { cell: 'gru', hidden: 8, embedding: 4 },
        tbptt: { k1: 16, k2: 16, maxWaitMs: 0 },
        optimizer: { learningRate: 0.05 },
      },
      { source: 'words-pretrained' },
    );
    const { learner, summary } = await runEmbedded({
      config,
      inputPaths: [join(dir, 'a.txt')],
      inputFormat: 'text',
      logger: memoryLogger().logger,
    });
    // The first batch is read before any word has an id; later ones with ids for every word.
    const oovRate = summary.metrics.oovRate!;
    assert.ok(oovRate > 0 && oovRate < 1, `oovRate ${oovRate}`);
    const vocabulary = wordsVocabulary(learner.tokenizer);
    for (const [word, vector] of Object.entries(vectors)) {
      const id = vocabulary.idOf(word);
      assert.ok(id > 0, `${word} admitted`);
      const row = embeddingRow(learner, id);
      if (freeze) assert.deepEqual(row, vector, `${word}: frozen`);
      else
        assert.ok(
          row.some((x, i) => Math.abs(x - vector[i]!) > 1e-4),
          `${word}: fine-tuned`,
        );
    }
    learner.dispose();
  }
});
