import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { tempDir } from '../../support/run-helpers.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));
const cli = (args: string[]) => promisify(execFile)(process.execPath, [bin, ...args]);

test('generate --params on a words model maps the prompt with the saved vocabulary and prints words joined by spaces', async () => {
  const dir = await tempDir('generate-words');
  await writeFile(
    join(dir, 'a.txt'),
    'The cat sat on the mat. The dog sat on the log. '.repeat(400),
  );
  const config = join(dir, 'cfg.json');
  await writeFile(
    config,
    JSON.stringify({
      input: { tokenizer: 'words', vocabSize: 16, minWordCount: 2, lowercase: true },
      model: { cell: 'gru', hidden: 16, embedding: 8 },
      tbptt: { k1: 8, k2: 8, maxWaitMs: 0 },
      optimizer: { learningRate: 0.02 },
      backend: 'cpu',
    }),
  );
  const params = join(dir, 'p.bin');
  await cli([
    ...['run', '--embedded', '--config', config, '--input-format', 'text'],
    ...['--input', join(dir, 'a.txt'), '--save-params', params, '--progress-seconds', '0'],
  ]);
  const { stdout } = await cli([
    ...['generate', '--params', params, '--prompt', 'The cat SAT on'],
    ...['--max-tokens', '6', '--backend', 'cpu'],
  ]);
  const line = stdout.trim();
  assert.ok(line.startsWith('The cat SAT on '), line);
  const words = line.slice('The cat SAT on '.length).split(' ');
  assert.equal(words.length, 6, line);
  const vocabulary = new Set(['the', 'cat', 'sat', 'on', 'mat', '.', 'dog', 'log', '<oov>']);
  for (const word of words) assert.ok(vocabulary.has(word), `${word} in ${line}`);
  // The text is deterministic: a trained model continues "on" with "the".
  assert.equal(words[0], 'the', line);
});
