/** Counts of words without an id, as a worker sends them and the parameter service sums them. */
export type WordCounts = ReadonlyMap<string, number>;

/** Highest count first, then the word in UTF-16 code unit order: the one order every process agrees on. */
export function compareCounted(a: readonly [string, number], b: readonly [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * A bounded table of word counts. Past `maxWords` entries it keeps the most frequent half (ties by
 * word), so memory stays bounded on an unbounded stream of rare words; a pruned word starts
 * counting again from zero. This is a lossy count (frequent words survive, the long tail is
 * forgotten), and a deterministic one: the same additions in the same order keep the same table.
 */
export class BoundedWordCounts {
  readonly maxWords: number;
  private readonly counts = new Map<string, number>();

  constructor({ maxWords }: { maxWords: number }) {
    if (!Number.isSafeInteger(maxWords) || maxWords < 2)
      throw new RangeError(`maxWords = ${maxWords}: must be an integer >= 2`);
    this.maxWords = maxWords;
  }

  get size(): number {
    return this.counts.size;
  }

  add(word: string, count = 1): void {
    this.counts.set(word, (this.counts.get(word) ?? 0) + count);
    if (this.counts.size > this.maxWords) this.prune();
  }

  addAll(counts: Iterable<readonly [string, number]>): void {
    for (const [word, count] of counts) this.add(word, count);
  }

  get(word: string): number {
    return this.counts.get(word) ?? 0;
  }

  delete(word: string): void {
    this.counts.delete(word);
  }

  clear(): void {
    this.counts.clear();
  }

  /** The entries, most frequent first (compareCounted). */
  sorted(): Array<[string, number]> {
    return [...this.counts].sort(compareCounted);
  }

  /** Takes the counts out (most frequent first), leaving the table empty. */
  drain(): Map<string, number> {
    const out = new Map(this.sorted());
    this.counts.clear();
    return out;
  }

  private prune(): void {
    const keep = this.sorted().slice(0, Math.floor(this.maxWords / 2));
    this.counts.clear();
    for (const [word, count] of keep) this.counts.set(word, count);
  }
}
