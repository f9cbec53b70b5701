import { BoundedWordCounts, compareCounted, type WordCounts } from './word-counts.js';
import { Vocabulary, type VocabularyJson } from './vocabulary.js';

/** What decides admission (config `input.vocabSize`, `input.minWordCount`, `input.maxCandidateWords`). */
export interface AdmissionRules {
  readonly capacity: number;
  /** A word gets an id once the counts reported for it reach this. */
  readonly minCount: number;
  /** Most words counted while waiting for admission (BoundedWordCounts). */
  readonly maxCandidates: number;
}

/** An admission state as a checkpoint keeps it: the vocabulary and the counts of waiting words. */
export interface AdmissionJson {
  readonly vocabulary: VocabularyJson;
  readonly candidates: ReadonlyArray<readonly [string, number]>;
}

/**
 * The parameter service's side of the vocabulary: it sums the counts of words without an id that
 * trainers report with their gradients, and at the end of each round admits the words whose sum
 * reached `minCount`, most frequent first (ties by word), while there is room. The round's
 * gradients are summed in (worker, step) order and admission looks only at the sums, so the ids
 * do not depend on arrival order; each gradient is applied once (deduplication by worker and
 * step), so a replayed gradient is not counted twice. The new ids are published with the version.
 */
export class VocabularyAdmission {
  readonly rules: AdmissionRules;
  readonly vocabulary: Vocabulary;
  private readonly candidates: BoundedWordCounts;

  constructor(rules: AdmissionRules, saved?: AdmissionJson) {
    if (!Number.isSafeInteger(rules.minCount) || rules.minCount < 1)
      throw new RangeError(`minCount = ${rules.minCount}: must be a positive integer`);
    this.rules = rules;
    this.vocabulary = saved
      ? Vocabulary.fromJSON(saved.vocabulary, { capacity: rules.capacity })
      : new Vocabulary({ capacity: rules.capacity });
    this.candidates = new BoundedWordCounts({ maxWords: rules.maxCandidates });
    if (saved) this.candidates.addAll(saved.candidates);
  }

  /** Adds one gradient's reported counts (words that already have an id are ignored). */
  count(counts: WordCounts): void {
    if (this.vocabulary.full) return;
    for (const [word, n] of [...counts].sort(compareCounted)) {
      if (this.vocabulary.lookup(word) === undefined && n > 0) this.candidates.add(word, n);
    }
  }

  /** Admits the words that reached the threshold; returns them in id order. */
  admit(): string[] {
    const room = this.rules.capacity - this.vocabulary.size;
    const ready = this.candidates
      .sorted()
      .filter(([, n]) => n >= this.rules.minCount)
      .slice(0, Math.max(0, room))
      .map(([word]) => word);
    this.vocabulary.append(ready);
    for (const word of ready) this.candidates.delete(word);
    // Full: nothing can be admitted any more, so stop spending memory on counts.
    if (this.vocabulary.full) this.candidates.clear();
    return ready;
  }

  toJSON(): AdmissionJson {
    return { vocabulary: this.vocabulary.toJSON(), candidates: this.candidates.sorted() };
  }
}
