import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';

import { InputError } from '../errors/index.js';

export type WordVectorFormat = 'word2vec-text' | 'word2vec-binary' | 'glove';

/** One row of a vectors file. */
export interface WordVector {
  readonly word: string;
  readonly vector: Float32Array;
  /** 0-based row number (word2vec files list words by falling frequency). */
  readonly index: number;
}

const FORMAT_FIX: Record<WordVectorFormat, string> = {
  'word2vec-text':
    'a word2vec text file starts with a line "<words> <dimension>", then one "word x1 ... xD" line per word',
  'word2vec-binary':
    'a word2vec binary file starts with a line "<words> <dimension>", then per word: the word, a space, D little-endian float32 values (and optionally a newline)',
  glove:
    'a GloVe file has no header: one "word x1 ... xD" line per word, every line with the same D',
};

/**
 * Streams the rows of a word-vectors file: word2vec's text and binary formats (a "V D" header
 * line, as written by word2vec -binary 0/1 and gensim's save_word2vec_format) and GloVe's text
 * format (no header). The file is read in pieces, never whole (such files run to gigabytes), and
 * stops being read when the caller stops iterating. Every row is validated: a bad header, a short
 * or long row, a value that is not a finite number, or a file shorter than its header says, is an
 * InputError naming the line (text) or byte offset (binary) and the expected layout.
 */
export async function* readWordVectors(
  path: string,
  format: WordVectorFormat,
): AsyncGenerator<WordVector> {
  if (format === 'word2vec-binary') yield* readBinary(path);
  else yield* readText(path, format);
}

function fail(path: string, format: WordVectorFormat, where: string, reason: string): never {
  throw new InputError({
    reason: `${path}, ${where}: ${reason}`,
    fix: `check input.pretrained.format = "${format}"; ${FORMAT_FIX[format]}`,
  });
}

function parseHeader(
  text: string,
  path: string,
  format: WordVectorFormat,
): { count: number; dimension: number } {
  const match = /^\s*(\d{1,12})\s+(\d{1,7})\s*$/.exec(text);
  const count = match ? Number(match[1]) : NaN;
  const dimension = match ? Number(match[2]) : NaN;
  if (!(count >= 1 && dimension >= 1))
    fail(
      path,
      format,
      'line 1',
      `header ${JSON.stringify(text.slice(0, 60))} is not "<words> <dimension>" (two positive integers)`,
    );
  return { count, dimension };
}

async function* readText(
  path: string,
  format: 'word2vec-text' | 'glove',
): AsyncGenerator<WordVector> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (error) {
    throw new InputError({
      reason: `cannot read word vectors ${path}: ${(error as Error).message}`,
      fix: 'set input.pretrained.path to an existing, readable file',
    });
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  let expected: { count: number; dimension: number } | undefined;
  let dimension: number | undefined;
  let index = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (lineNumber === 1 && format === 'word2vec-text') {
        expected = parseHeader(line, path, format);
        dimension = expected.dimension;
        continue;
      }
      if (line.trim() === '') continue;
      const fields = line.trimEnd().split(' ');
      // GloVe's first row fixes D; a word may itself hold spaces (some GloVe files have such rows),
      // so the last D fields are the vector and the rest is the word.
      dimension ??= fields.length - 1;
      if (dimension < 1)
        fail(path, format, `line ${lineNumber}`, 'a row with a word but no numbers');
      if (fields.length < dimension + 1)
        fail(
          path,
          format,
          `line ${lineNumber}`,
          `${fields.length - 1} numbers after the word, expected ${dimension}`,
        );
      if (format === 'word2vec-text' && fields.length > dimension + 1)
        fail(
          path,
          format,
          `line ${lineNumber}`,
          `${fields.length - 1} fields after the word, expected ${dimension}`,
        );
      const word = fields.slice(0, fields.length - dimension).join(' ');
      const vector = new Float32Array(dimension);
      for (let j = 0; j < dimension; j++) {
        const text = fields[fields.length - dimension + j]!;
        const x = Number(text);
        if (text === '' || !Number.isFinite(x))
          fail(
            path,
            format,
            `line ${lineNumber}`,
            `value ${j + 1} of "${word.slice(0, 40)}" is ${JSON.stringify(text.slice(0, 20))}, not a finite number`,
          );
        vector[j] = x;
      }
      if (expected !== undefined && index >= expected.count)
        fail(
          path,
          format,
          `line ${lineNumber}`,
          `more rows than the ${expected.count} the header announces`,
        );
      yield { word, vector, index: index++ };
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  if (expected !== undefined && index < expected.count)
    fail(
      path,
      format,
      `end of file after line ${lineNumber}`,
      `${index} rows, but the header announces ${expected.count}`,
    );
  if (index === 0) fail(path, format, 'end of file', 'no vectors');
}

/** A byte reader over a file handle that keeps at most one piece plus the bytes not yet taken. */
class ByteCursor {
  private buffer = Buffer.alloc(0);
  private at = 0;
  /** File offset of buffer[0]. */
  private base = 0;
  private ended = false;

  constructor(private readonly file: FileHandle) {}

  get offset(): number {
    return this.base + this.at;
  }

  /** Makes `n` bytes available from the cursor; false when the file ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.buffer.length - this.at < n && !this.ended) {
      const piece = Buffer.alloc(Math.max(1 << 20, n));
      const { bytesRead } = await this.file.read(piece, 0, piece.length, null);
      if (bytesRead === 0) this.ended = true;
      this.base += this.at;
      this.buffer = Buffer.concat([this.buffer.subarray(this.at), piece.subarray(0, bytesRead)]);
      this.at = 0;
    }
    return this.buffer.length - this.at >= n;
  }

  peek(): number {
    return this.buffer[this.at]!;
  }

  take(n: number): Buffer {
    const out = this.buffer.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** Bytes up to (not including) `stop`, at most `max` of them; undefined when it does not occur. */
  async takeUntil(stop: number, max: number): Promise<Buffer | undefined> {
    for (let n = 0; n <= max; n++) {
      if (!(await this.ensure(n + 1))) return undefined;
      if (this.buffer[this.at + n] === stop) {
        const out = Buffer.from(this.take(n));
        this.at++;
        return out;
      }
    }
    return undefined;
  }
}

const MAX_BINARY_WORD_BYTES = 4096;

async function* readBinary(path: string): AsyncGenerator<WordVector> {
  const format = 'word2vec-binary';
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw new InputError({
      reason: `cannot read word vectors ${path}: ${(error as Error).message}`,
      fix: 'set input.pretrained.path to an existing, readable file',
    });
  }
  try {
    const cursor = new ByteCursor(file);
    const headerBytes = await cursor.takeUntil(0x0a, 64);
    if (headerBytes === undefined)
      fail(path, format, 'offset 0', 'no header line "<words> <dimension>" in the first 64 bytes');
    const { count, dimension } = parseHeader(headerBytes.toString('latin1'), path, format);
    const decoder = new StringDecoder('utf8');
    for (let index = 0; index < count; index++) {
      // word2vec writes a newline after each vector; gensim writes none: skip it when present.
      while ((await cursor.ensure(1)) && (cursor.peek() === 0x0a || cursor.peek() === 0x0d))
        cursor.take(1);
      const start = cursor.offset;
      const wordBytes = await cursor.takeUntil(0x20, MAX_BINARY_WORD_BYTES);
      if (wordBytes === undefined)
        fail(
          path,
          format,
          `offset ${start}`,
          `word ${index + 1} of ${count}: no space ending a word within ${MAX_BINARY_WORD_BYTES} bytes (truncated file, or not the binary format)`,
        );
      const word = decoder.write(wordBytes) + decoder.end();
      if (word === '')
        fail(path, format, `offset ${start}`, `word ${index + 1} of ${count} is empty`);
      if (!(await cursor.ensure(dimension * 4)))
        fail(
          path,
          format,
          `offset ${cursor.offset}`,
          `the file ends inside the vector of "${word.slice(0, 40)}" (word ${index + 1} of ${count}; ${dimension} float32 values expected)`,
        );
      const bytes = cursor.take(dimension * 4);
      const vector = new Float32Array(dimension);
      for (let j = 0; j < dimension; j++) {
        const x = bytes.readFloatLE(j * 4);
        if (!Number.isFinite(x))
          fail(
            path,
            format,
            `offset ${cursor.offset - dimension * 4 + j * 4}`,
            `value ${j + 1} of "${word.slice(0, 40)}" is ${x}`,
          );
        vector[j] = x;
      }
      yield { word, vector, index };
    }
  } finally {
    await file.close();
  }
}

/** The vectors an application keeps: the first `maxWords` rows, by word, and the dimension. */
export interface WordVectorTable {
  readonly dimension: number;
  /** Row order of the file (most frequent first for word2vec files). */
  readonly words: readonly string[];
  readonly vectors: ReadonlyMap<string, Float32Array>;
}

/**
 * Reads the first `maxWords` rows of a vectors file into memory (the rest of the file is not
 * read). Words are normalised with `normalize` (lower-casing) and a word seen again after
 * normalisation keeps its first, most frequent, vector.
 */
export async function loadWordVectors(
  path: string,
  {
    format,
    maxWords,
    normalize = (word) => word,
  }: { format: WordVectorFormat; maxWords: number; normalize?: (word: string) => string },
): Promise<WordVectorTable> {
  const words: string[] = [];
  const vectors = new Map<string, Float32Array>();
  let dimension = 0;
  for await (const row of readWordVectors(path, format)) {
    dimension = row.vector.length;
    const word = normalize(row.word);
    if (!vectors.has(word)) {
      vectors.set(word, row.vector);
      words.push(word);
    }
    if (row.index + 1 >= maxWords) break;
  }
  return { dimension, words, vectors };
}
