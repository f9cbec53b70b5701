import { ConfigError, InputError } from '../errors/index.js';

/** The default word pattern: runs of letters, digits, apostrophes and hyphens; or one other non-space symbol. */
export const DEFAULT_WORD_PATTERN = "[\\p{L}\\p{N}'’-]+|[^\\s\\p{L}\\p{N}]";

export interface WordSplitterOptions {
  /** A JavaScript regular expression (Unicode mode) matching one word; text between matches is dropped. */
  readonly wordPattern: string;
  readonly lowercase: boolean;
  /** Longest word in UTF-8 bytes: longer ones are an InputError (they are binary junk or a missing separator). */
  readonly maxWordBytes: number;
}

/** The form a word is looked up in: lower-cased when configured (input.lowercase). */
export function normalizeWord(word: string, { lowercase }: { lowercase: boolean }): string {
  return lowercase ? word.toLowerCase() : word;
}

/** Compiles `pattern` (global, Unicode), or throws a ConfigError that says what is wrong. */
export function compileWordPattern(pattern: string): RegExp {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'gu');
  } catch (error) {
    throw new ConfigError(
      `input.wordPattern = ${JSON.stringify(pattern)} is not a regular expression: ${(error as Error).message} (fix: write a JavaScript regex, e.g. "${DEFAULT_WORD_PATTERN.replaceAll('\\', '\\\\')}")`,
    );
  }
  if (regex.test('')) {
    throw new ConfigError(
      `input.wordPattern = ${JSON.stringify(pattern)} matches the empty string, so it would split text into nothing but empty words (fix: use + rather than * in it)`,
    );
  }
  return regex;
}

/** Checks one word against maxWordBytes (line: where it was read, for the message). */
export function checkWordLength(word: string, maxWordBytes: number, line?: number): void {
  if (word.length * 3 <= maxWordBytes) return; // at most 3 UTF-8 bytes per UTF-16 unit
  const bytes = Buffer.byteLength(word, 'utf8');
  if (bytes <= maxWordBytes) return;
  throw new InputError({
    line,
    reason: `word "${word.slice(0, 24)}…" is ${bytes} UTF-8 bytes, longer than input.maxWordBytes = ${maxWordBytes}`,
    fix: 'check the word pattern splits this text (input.wordPattern), or raise input.maxWordBytes',
  });
}

/**
 * Splits text into words with a regular expression: every match is a word (normalised), the text
 * between matches is a separator. Streaming: `push` takes the text in pieces of any size and
 * returns the words that are complete; a match that touches the end of the piece may continue in
 * the next one, so it is held back until `push` sees more text or `end` is called.
 */
export class WordSplitter {
  private readonly regex: RegExp;
  private readonly options: WordSplitterOptions;
  private rest = '';
  /** 1-based line of the start of `rest`. */
  private line = 1;

  constructor(options: WordSplitterOptions) {
    this.options = options;
    this.regex = compileWordPattern(options.wordPattern);
  }

  /** Words of the text so far that cannot grow any more, with the 1-based line each starts on. */
  push(text: string): Array<{ word: string; line: number }> {
    return this.split(this.rest + text, false);
  }

  /** The held-back words. */
  end(): Array<{ word: string; line: number }> {
    return this.split(this.rest, true);
  }

  private split(text: string, final: boolean): Array<{ word: string; line: number }> {
    const words: Array<{ word: string; line: number }> = [];
    this.regex.lastIndex = 0;
    let consumed = text.length;
    let scanned = 0;
    for (let m = this.regex.exec(text); m !== null; m = this.regex.exec(text)) {
      if (m[0] === '') {
        // A pattern that matches nothing somewhere (\b, lookarounds): not a word, and exec would not move on.
        this.regex.lastIndex++;
        continue;
      }
      this.line += countNewlines(text, scanned, m.index);
      scanned = m.index;
      // Checked before it is held back too, so a separator-free stream cannot grow `rest` unbounded.
      checkWordLength(m[0], this.options.maxWordBytes, this.line);
      if (!final && m.index + m[0].length === text.length) {
        consumed = m.index; // may continue in the next piece
        break;
      }
      words.push({ word: normalizeWord(m[0], this.options), line: this.line });
    }
    this.line += countNewlines(text, scanned, consumed);
    this.rest = final ? '' : text.slice(consumed);
    return words;
  }
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Words of a whole text (a prompt, a test string). */
export function splitWords(text: string, options: WordSplitterOptions): string[] {
  const splitter = new WordSplitter(options);
  return [...splitter.push(text), ...splitter.end()].map(({ word }) => word);
}
