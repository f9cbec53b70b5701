import { InputError } from '../errors/index.js';
import { renderValue } from '../errors/render-value.js';
import {
  checkWordLength,
  DEFAULT_WORD_PATTERN,
  normalizeWord,
  splitWords,
} from './word-splitter.js';
import { BoundedWordCounts } from './word-counts.js';
import { OOV_ID, type Vocabulary } from './vocabulary.js';

/** Most word counts one gradient carries (GradientChunk.word_counts). */
export const MAX_WORD_COUNTS_PER_GRADIENT = 1024;

/**
 * The `words` tokenizer: a token is one word (a JSON string, or a word of a text file after
 * WordSplitter), looked up in the vocabulary this process holds: the one of the parameter version
 * it applied last. A word without an id is OOV_ID and is counted in `unseen`; the trainer sends
 * those counts with its next gradient (VocabularyAdmission decides on them).
 */
export class WordsTokenizer {
  readonly kind = 'words' as const;
  readonly growing = true;
  readonly vocabulary: Vocabulary;
  /** Words read without an id since the last gradient took them (bounded). */
  readonly unseen: BoundedWordCounts;
  private readonly lowercase: boolean;
  private readonly maxWordBytes: number;
  private readonly wordPattern: string;

  constructor({
    vocabulary,
    lowercase,
    maxWordBytes,
    wordPattern = DEFAULT_WORD_PATTERN,
    maxUnseenWords = 4096,
  }: {
    vocabulary: Vocabulary;
    lowercase: boolean;
    maxWordBytes: number;
    /** How prompt text is split (splitPrompt), as text input is. */
    wordPattern?: string;
    maxUnseenWords?: number;
  }) {
    this.vocabulary = vocabulary;
    this.lowercase = lowercase;
    this.maxWordBytes = maxWordBytes;
    this.wordPattern = wordPattern;
    this.unseen = new BoundedWordCounts({ maxWords: maxUnseenWords });
  }

  /** The unseen-word counts for one gradient: the most frequent `max` (the rest are dropped; they recur). */
  takeUnseen(max = MAX_WORD_COUNTS_PER_GRADIENT): Map<string, number> {
    return new Map([...this.unseen.drain()].slice(0, max));
  }

  get vocabSize(): number {
    return this.vocabulary.capacity;
  }

  /** The word's id; OOV_ID (counted) until the parameter service admits it. */
  encode(token: string | number, { line }: { line?: number | undefined } = {}): number {
    const word = this.wordOf(token, line);
    const id = this.vocabulary.lookup(word);
    if (id !== undefined) return id;
    if (!this.vocabulary.full) this.unseen.add(word);
    return OOV_ID;
  }

  /** The id of a word without counting it (prompts: what a model is asked must not change what it learns). */
  lookup(token: string, { line }: { line?: number | undefined } = {}): number {
    return this.vocabulary.idOf(this.wordOf(token, line));
  }

  /** A prompt's ids: split like text input, looked up without counting (OOV_ID for unknown words). */
  splitPrompt(text: string): number[] {
    const { wordPattern, lowercase, maxWordBytes } = this;
    return splitWords(text, { wordPattern, lowercase, maxWordBytes }).map((w) =>
      this.vocabulary.idOf(w),
    );
  }

  decode(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id > this.vocabSize)
      throw new RangeError(
        `token id ${id} is outside [0, ${this.vocabSize}] (${this.vocabSize} is BOS)`,
      );
    if (id === this.vocabSize) return '<bos>';
    return this.vocabulary.wordOf(id) ?? `<unused ${id}>`;
  }

  private wordOf(token: string | number, line: number | undefined): string {
    if (typeof token === 'number') {
      throw new InputError({
        line,
        reason: `token ${renderValue(token)} is a number; the words tokenizer reads words`,
        fix: 'send the word as a string (e.g. "token": "cat"), or set input.tokenizer to "ids" for integer ids',
      });
    }
    checkWordLength(token, this.maxWordBytes, line);
    return normalizeWord(token, { lowercase: this.lowercase });
  }
}

/** The vocabulary of a words tokenizer; a ConfigError-free programming check for the others. */
export function wordsVocabulary(tokenizer: { readonly kind: string }): Vocabulary {
  if (!(tokenizer instanceof WordsTokenizer))
    throw new TypeError(
      `a ${tokenizer.kind} tokenizer has no vocabulary (input.tokenizer "words" has)`,
    );
  return tokenizer.vocabulary;
}
