import { splitWords, type WordSplitterOptions } from './word-splitter.js';
import type { Vocabulary } from './vocabulary.js';

/**
 * A prompt in words as the ids of a vocabulary (split and normalised like the training text; a
 * word without an id is OOV). Looking up does not count: asking a model is not training it.
 */
export function wordPromptIds(
  text: string,
  options: WordSplitterOptions,
  vocabulary: Vocabulary,
): number[] {
  return splitWords(text, options).map((word) => vocabulary.idOf(word));
}

/** Generated ids as text: their words joined with spaces (BOS and unused ids are left out). */
export function wordsText(ids: readonly number[], vocabulary: Vocabulary): string {
  return ids
    .map((id) => (id < vocabulary.capacity ? vocabulary.wordOf(id) : undefined))
    .filter((word): word is string => word !== undefined)
    .join(' ');
}
