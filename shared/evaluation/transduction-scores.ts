/**
 * Prequential scores of a sequence-to-sequence learner (docs/design.md, "Sequence to sequence"):
 * per pair, the teacher-forced cost of its target in bits (every target token and the end of
 * target), and whether the decoded hypothesis equals the target and how many token edits apart
 * they are.
 */

/** Levenshtein distance (insertions, deletions, substitutions of one token each). */
export function editDistance(a: readonly number[], b: readonly number[]): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export interface TransductionFigures {
  readonly pairs: number;
  /** Fraction of pairs whose hypothesis equals the target. */
  readonly exactMatch: number;
  /** Σ edit distance / Σ target length (the token error rate; PER for phonemes). */
  readonly tokenErrorRate: number;
  /** Mean −log2 p over target steps (tokens and ends), teacher-forced. */
  readonly bitsPerToken: number;
}

export class TransductionScores {
  private pairs = 0;
  private exact = 0;
  private edits = 0;
  private referenceTokens = 0;
  private bits = 0;
  private targetSteps = 0;

  /**
   * One pair: its target, the hypothesis decoded for it, and the teacher-forced cost of the
   * target in bits over its `target.length + 1` steps.
   */
  observe({
    target,
    hypothesis,
    bits,
  }: {
    target: readonly number[];
    hypothesis: readonly number[];
    bits: number;
  }): { exactMatch: boolean; editDistance: number } {
    const distance = editDistance(hypothesis, target);
    this.pairs++;
    if (distance === 0) this.exact++;
    this.edits += distance;
    this.referenceTokens += target.length;
    this.bits += bits;
    this.targetSteps += target.length + 1;
    return { exactMatch: distance === 0, editDistance: distance };
  }

  /** NaN figures before the first pair. */
  figures(): TransductionFigures {
    return {
      pairs: this.pairs,
      exactMatch: this.exact / this.pairs,
      tokenErrorRate: this.edits / this.referenceTokens,
      bitsPerToken: this.bits / this.targetSteps,
    };
  }
}
