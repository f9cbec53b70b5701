/**
 * An online order-n token model with interpolated Witten–Bell smoothing: the classical baseline a
 * recurrent language model has to beat.
 *
 * For a context h (the last k tokens, k < n) and its suffix h' (h without its oldest token):
 *
 *   P(w | h) = (c(h, w) + T(h) · P(w | h')) / (c(h) + T(h))     if c(h) > 0, else P(w | h'),
 *   P(w | ·) = 1 / V below the empty context,
 *
 * where c(h, w) counts w after h, c(h) = Σ_w c(h, w) and T(h) is the number of distinct tokens
 * seen after h. Witten–Bell (the escape of PPM-C, interpolated instead of backed off with
 * exclusions) because it needs nothing but counts that an update changes in O(n), has no discount
 * to tune (Kneser–Ney's continuation counts would have to be maintained as the stream runs), and
 * interpolation makes every P(· | h) a distribution over exactly the V tokens — by induction from
 * the uniform 1/V it sums to 1 and never gives a token 0 — without the exclusion sets PPM needs.
 *
 * Counts live in a trie of the token strings seen (a node per distinct string of 1..n tokens, plus
 * the root): the node of h·w is the child of h by w, holds c(h, w), and as a context its own c and
 * T. A sequence start is the BOS context (a node that is never counted as a token), as a network
 * starts from its BOS embedding. At most `maxContexts` nodes are stored: once full, a string not
 * yet stored is not counted (`contextsDropped`), while the strings already stored keep counting.
 */
export class WittenBellNgram {
  readonly order: number;
  readonly vocabSize: number;
  readonly maxContexts: number;
  /** New nodes that were needed but not stored because the table was full (one per event and order). */
  contextsDropped = 0;
  /** node id -> c(parent, last token): how often this string was seen. */
  private count: Float64Array;
  /** node id -> c(h) as a context: Σ of its children's counts. */
  private total: Float64Array;
  /** node id -> T(h) as a context: how many children it has. */
  private distinct: Float64Array;
  /** parent id · (V + 1) + token -> child id (token V is BOS). Exact: checked in the constructor. */
  private readonly children = new Map<number, number>();
  private nodes = 0;
  private readonly root: number;
  private readonly bos: number;
  /** Scratch for observe(): the child of each context level by the observed token, or -1. */
  private readonly found: Int32Array;

  constructor({
    order,
    vocabSize,
    maxContexts,
  }: {
    order: number;
    vocabSize: number;
    maxContexts: number;
  }) {
    if (!(Number.isSafeInteger(order) && order >= 1)) {
      throw new RangeError(`n-gram order ${order}: must be an integer >= 1`);
    }
    if (!(Number.isSafeInteger(vocabSize) && vocabSize >= 1)) {
      throw new RangeError(`vocabSize = ${vocabSize}: must be a positive integer`);
    }
    if (!(Number.isSafeInteger(maxContexts) && maxContexts >= 2)) {
      throw new RangeError(
        `maxContexts = ${maxContexts}: must be an integer >= 2 (the root and BOS contexts)`,
      );
    }
    if (maxContexts * (vocabSize + 1) > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(
        `maxContexts = ${maxContexts} with vocabSize = ${vocabSize}: their product must stay below 2^53 ` +
          `so that a (context, token) pair has an exact numeric key; lower maxContexts`,
      );
    }
    this.order = order;
    this.vocabSize = vocabSize;
    this.maxContexts = maxContexts;
    const capacity = Math.min(maxContexts, 1024);
    this.count = new Float64Array(capacity);
    this.total = new Float64Array(capacity);
    this.distinct = new Float64Array(capacity);
    this.found = new Int32Array(order);
    this.root = this.nodes++;
    // BOS is a context, never a predicted token: its node is not counted in the root's c and T.
    this.bos = this.nodes++;
    this.children.set(this.root * (vocabSize + 1) + vocabSize, this.bos);
  }

  /** Stored nodes (contexts), the root and BOS included. */
  get contexts(): number {
    return this.nodes;
  }

  /** The context of a sequence's start: BOS (and the empty context below it). */
  startContext(): NgramContext {
    const nodes = new Int32Array(this.order).fill(-1);
    nodes[0] = this.root;
    if (this.order > 1) nodes[1] = this.bos;
    return { nodes };
  }

  /** P(token | context), the interpolated Witten–Bell probability; the model is not changed. */
  probability(context: NgramContext, token: number): number {
    this.checkToken(token);
    return this.interpolate(context, token);
  }

  /**
   * Prequential step: returns P(token | context), then counts the token in every context level and
   * moves `context` on to the one that ends with it.
   */
  observe(context: NgramContext, token: number): number {
    this.checkToken(token);
    const p = this.interpolate(context, token);
    const { nodes } = context;
    const { found, order } = this;
    // Shortest context first: when the table fills up, the short contexts, which every sequence
    // reaches, are the ones that keep their place.
    for (let k = 0; k < order; k++) {
      const h = nodes[k]!;
      if (h < 0) continue;
      let child = found[k]!;
      if (child < 0) {
        child = this.addChild(h, token);
        if (child < 0) {
          this.contextsDropped++;
          continue;
        }
        this.distinct[h]!++;
        found[k] = child;
      }
      this.count[child]!++;
      this.total[h]!++;
    }
    // The context of the last k + 1 tokens is that of the last k extended by this token.
    for (let k = order - 1; k >= 1; k--) nodes[k] = found[k - 1]!;
    return p;
  }

  /** P(token | context) from the shortest context up; fills `found` with the children by token. */
  private interpolate(context: NgramContext, token: number): number {
    const { nodes } = context;
    const { found, children, count, total, distinct } = this;
    const stride = this.vocabSize + 1;
    let p = 1 / this.vocabSize;
    for (let k = 0; k < this.order; k++) {
      const h = nodes[k]!;
      if (h < 0) {
        found[k] = -1;
        continue;
      }
      const child = children.get(h * stride + token);
      found[k] = child ?? -1;
      const c = total[h]!;
      if (c > 0) {
        const t = distinct[h]!;
        p = ((child === undefined ? 0 : count[child]!) + t * p) / (c + t);
      }
    }
    return p;
  }

  private addChild(parent: number, token: number): number {
    if (this.nodes >= this.maxContexts) return -1;
    if (this.nodes === this.count.length) this.grow();
    const id = this.nodes++;
    this.children.set(parent * (this.vocabSize + 1) + token, id);
    return id;
  }

  private grow(): void {
    const capacity = Math.min(this.maxContexts, 2 * this.count.length);
    const resized = (old: Float64Array): Float64Array => {
      const next = new Float64Array(capacity);
      next.set(old);
      return next;
    };
    this.count = resized(this.count);
    this.total = resized(this.total);
    this.distinct = resized(this.distinct);
  }

  private checkToken(token: number): void {
    if (!(Number.isInteger(token) && token >= 0 && token < this.vocabSize)) {
      throw new RangeError(
        `token id ${token}: must be an integer in [0, ${this.vocabSize}) (the model's vocabulary)`,
      );
    }
  }
}

/**
 * One sequence's position for the n-gram model: `nodes[k]` is the context of its last k tokens
 * (k = 0: the empty context; BOS stands for the tokens before the start), -1 where that context is
 * not stored (too close to the start, or the table was full).
 */
export interface NgramContext {
  readonly nodes: Int32Array;
}
