import { parseConfig } from '../config/index.js';
import { ShapeError } from '../errors/index.js';
import type { ParameterFileContents } from '../model/parameter-file.js';
import { Vocabulary, type VocabularyJson } from './vocabulary.js';
import type { WordSplitterOptions } from './word-splitter.js';

/**
 * The vocabulary a parameter file was trained with (written by `run --save-params` beside the
 * tensors), and the splitter settings of its config; undefined for a file of another tokenizer.
 */
export function wordsOfParameterFile(
  file: Pick<ParameterFileContents, 'extra' | 'spec'>,
  path: string,
): { vocabulary: Vocabulary; options: WordSplitterOptions } | undefined {
  const saved = file.extra.vocabulary as VocabularyJson | undefined;
  if (saved === undefined) return undefined;
  if (
    saved === null ||
    typeof saved !== 'object' ||
    !Array.isArray(saved.words) ||
    !saved.words.every((w) => typeof w === 'string')
  ) {
    throw new ShapeError(
      `parameter file '${path}' has a damaged "vocabulary" (fix: write it again with 'rnnstream run --save-params')`,
    );
  }
  const vocabulary = Vocabulary.fromJSON(saved, { capacity: file.spec.vocabSize });
  const config = parseConfig(file.extra.config ?? {}, { source: path });
  return { vocabulary, options: config.input };
}
