import type { Config } from '../config/index.js';
import { ServerVocabulary, type ServerVocabularyJson } from './server-vocabulary.js';
import { normalizeWord } from './word-splitter.js';
import { loadWordVectors } from './word-vectors.js';

/**
 * The parameter service's vocabulary for a config with input.tokenizer "words" (undefined for
 * other tokenizers), with the pretrained vectors of input.pretrained read in (their first
 * `maxWords` rows, normalised like the words they will meet). `saved`: a checkpoint's vocabulary.
 */
export async function serverVocabularyFromConfig(
  config: Config,
  saved?: ServerVocabularyJson | undefined,
): Promise<ServerVocabulary | undefined> {
  const { input } = config;
  if (input.kind !== 'tokens' || input.tokenizer !== 'words') return undefined;
  const pretrained = input.pretrained;
  return new ServerVocabulary({
    rules: {
      capacity: input.vocabSize,
      minCount: input.minWordCount,
      maxCandidates: input.maxCandidateWords,
    },
    saved,
    pretrained:
      pretrained === undefined
        ? undefined
        : {
            table: await loadWordVectors(pretrained.path, {
              format: pretrained.format,
              maxWords: pretrained.maxWords,
              normalize: (word) => normalizeWord(word, input),
            }),
            freeze: pretrained.freeze,
            seedWords: pretrained.seedWords,
          },
  });
}
