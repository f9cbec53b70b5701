import { createReadStream } from 'node:fs';
import { basename } from 'node:path';

import { WordSplitter, type WordSplitterOptions } from '../vocabulary/word-splitter.js';
import type { ParsedRecord } from './parsed-record.js';
import { listTextFiles } from './text-source.js';

/**
 * `--input-format text` with input.tokenizer "words": each file is one sequence keyed by its file
 * name whose tokens are its words (WordSplitter: the matches of input.wordPattern, lower-cased if
 * input.lowercase). Files are interleaved round robin, one word from each live file per round, as
 * readTextEvents does with bytes; a file's last word has `eos: true`, and `line` is the 1-based
 * line the word starts on. Files are read in pieces (`chunkBytes`), never whole. A word longer than
 * input.maxWordBytes is an InputError that ends the run: the pattern does not fit the text.
 */
export async function* readTextWordEvents(
  paths: string[],
  splitter: WordSplitterOptions,
  { chunkBytes = 16_384 }: { chunkBytes?: number } = {},
): AsyncGenerator<ParsedRecord> {
  const files = await listTextFiles(paths);
  let live = files.map((path) => ({
    key: basename(path),
    words: fileWords(path, splitter, chunkBytes),
  }));
  // One word of look-ahead per file, to know which word is the last (eos).
  const next = new Map<string, IteratorResult<{ word: string; line: number }>>();
  for (const file of live) next.set(file.key, await file.words.next());
  while (live.length > 0) {
    for (const file of live) {
      const current = next.get(file.key)!;
      if (current.done) continue;
      const following = await file.words.next();
      next.set(file.key, following);
      const { word, line } = current.value;
      yield { line, event: { key: file.key, token: word, eos: following.done === true } };
    }
    live = live.filter((file) => next.get(file.key)!.done !== true);
  }
}

async function* fileWords(
  path: string,
  options: WordSplitterOptions,
  chunkBytes: number,
): AsyncGenerator<{ word: string; line: number }> {
  const splitter = new WordSplitter(options);
  // A utf8 stream decodes across piece boundaries, so a character is never split.
  for await (const piece of createReadStream(path, { encoding: 'utf8', highWaterMark: chunkBytes }))
    yield* splitter.push(piece as string);
  yield* splitter.end();
}
