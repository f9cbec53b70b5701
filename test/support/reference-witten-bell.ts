/**
 * A deliberately plain interpolated Witten–Bell n-gram model, written from the textbook formula
 * with string contexts and per-key token histories, so tests can check the trie implementation
 * (shared/evaluation/witten-bell-ngram.ts) against something that shares none of its code:
 *
 *   P(w | h) = (c(h, w) + T(h) P(w | h')) / (c(h) + T(h)), or P(w | h') when c(h) = 0,
 *   P(w | ·) = 1 / V below the empty context.
 *
 * A sequence starts with the history ['BOS'] (BOS is a context, never a predicted token); `eos`
 * starts a new one. No bound on memory.
 */
export class ReferenceWittenBell {
  private readonly followers = new Map<string, Map<number, number>>();
  private readonly histories = new Map<string, Array<number | 'BOS'>>();

  constructor(
    private readonly order: number,
    private readonly vocabSize: number,
  ) {}

  /** P(w | the key's last order - 1 tokens), without counting w. */
  probability(key: string, w: number): number {
    let p = 1 / this.vocabSize;
    for (const h of this.contextsOf(key)) {
      const counts = this.followers.get(h);
      if (counts === undefined) continue;
      let c = 0;
      for (const n of counts.values()) c += n;
      const t = counts.size;
      p = ((counts.get(w) ?? 0) + t * p) / (c + t);
    }
    return p;
  }

  /** Prequential step: the probability of w, then w counted in every context and appended. */
  observe(key: string, w: number, eos = false): number {
    const p = this.probability(key, w);
    for (const h of this.contextsOf(key)) {
      const counts = this.followers.get(h) ?? new Map<number, number>();
      counts.set(w, (counts.get(w) ?? 0) + 1);
      this.followers.set(h, counts);
    }
    if (eos) this.histories.delete(key);
    else this.histories.set(key, [...this.history(key), w]);
    return p;
  }

  /** The key's contexts, shortest first: '', then its last 1, 2, ... tokens (at most order - 1). */
  private contextsOf(key: string): string[] {
    const history = this.history(key);
    const contexts: string[] = [];
    for (let k = 0; k < this.order && k <= history.length; k++)
      contexts.push(history.slice(history.length - k).join(','));
    return contexts;
  }

  private history(key: string): Array<number | 'BOS'> {
    return this.histories.get(key) ?? ['BOS'];
  }
}
