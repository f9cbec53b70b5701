import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InputError } from '../../../shared/errors/index.js';
import { readTextWordEvents } from '../../../shared/events/text-word-source.js';
import { DEFAULT_WORD_PATTERN } from '../../../shared/vocabulary/word-splitter.js';

const options = { wordPattern: DEFAULT_WORD_PATTERN, lowercase: true, maxWordBytes: 16 };

async function collect(paths: string[], chunkBytes: number, opts = options) {
  const out: string[] = [];
  for await (const r of readTextWordEvents(paths, opts, { chunkBytes }))
    if ('event' in r)
      out.push(`${r.event.key}:${r.line}:${String(r.event.token)}${r.event.eos ? '|eos' : ''}`);
  return out;
}

test('text files as words: one key per file, word by word round robin, eos on each last word, the line of each word', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'text-words-'));
  await writeFile(join(dir, 'a.txt'), 'Hello, world\nbye');
  await writeFile(join(dir, 'b.txt'), '\n\nOne');
  await writeFile(join(dir, 'c.txt'), '   \n');
  const expected = [
    'a.txt:1:hello',
    'b.txt:3:one|eos',
    'a.txt:1:,',
    'a.txt:1:world',
    'a.txt:2:bye|eos',
  ];
  for (const chunkBytes of [1, 3, 16_384])
    assert.deepEqual(await collect([dir], chunkBytes), expected);
});

test('a word longer than maxWordBytes stops the read with its file line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'text-words-'));
  await writeFile(join(dir, 'a.txt'), 'fine\n' + 'x'.repeat(40));
  await assert.rejects(
    collect([dir], 8),
    (error: unknown) => error instanceof InputError && /line 2/.test(error.message),
  );
});
