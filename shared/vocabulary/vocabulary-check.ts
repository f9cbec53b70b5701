/**
 * What is wrong with a saved vocabulary state read from disk (a checkpoint header), or undefined
 * for one that is well formed or absent. The header is JSON that may have been edited or cut.
 */
export function vocabularyProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const v = value as {
    vocabulary?: { capacity?: unknown; words?: unknown };
    candidates?: unknown;
    frozenIds?: unknown;
  };
  if (v === null || typeof v !== 'object') return 'vocabulary is not an object';
  const { capacity, words } = v.vocabulary ?? {};
  if (!Number.isSafeInteger(capacity) || (capacity as number) < 2)
    return 'vocabulary.capacity is not an integer >= 2';
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string'))
    return 'vocabulary.words is not a list of words';
  if (words.length > (capacity as number) || new Set(words).size !== words.length)
    return 'vocabulary.words is longer than its capacity or repeats a word';
  if (
    !Array.isArray(v.candidates) ||
    !v.candidates.every(
      (c) => Array.isArray(c) && typeof c[0] === 'string' && Number.isSafeInteger(c[1]) && c[1] > 0,
    )
  )
    return 'vocabulary.candidates is not a list of [word, count]';
  if (v.frozenIds === undefined) return undefined;
  if (
    !Array.isArray(v.frozenIds) ||
    !v.frozenIds.every((id) => Number.isSafeInteger(id) && id > 0 && id < words.length)
  )
    return 'vocabulary.frozenIds is not a list of ids in the vocabulary';
  return undefined;
}
