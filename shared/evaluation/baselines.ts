import { BitsPerToken } from './bits-per-token.js';
import { ClassificationMetrics } from './classification-metrics.js';
import { type NgramContext, WittenBellNgram } from './witten-bell-ngram.js';

/**
 * Trivial predictors scored on the same stream as the model, so a summary (or a test) can say
 * whether the model learnt anything beyond them. All are prequential: each predicts before it
 * sees the value it is scored on. The forecast baselines (last value, running mean) are scored
 * with the model in ./forecast-scores.ts, per horizon step.
 */

/** Bits per token of the uniform distribution over a vocabulary of V tokens: log2 V. */
export function uniformBitsPerToken(vocabSize: number): number {
  if (!(Number.isSafeInteger(vocabSize) && vocabSize >= 1)) {
    throw new RangeError(`vocabSize = ${vocabSize}: must be a positive integer`);
  }
  return Math.log2(vocabSize);
}

/**
 * Always predicts the most frequent class seen so far (ties: the class that reached the top count
 * first). Before the first label it has no prediction, which counts as a miss.
 */
export class MajorityClassBaseline {
  private readonly metrics: ClassificationMetrics;
  private readonly frequency = new Map<number, number>();
  private leader: number | undefined;
  private leaderCount = 0;

  constructor({ windowSize }: { windowSize?: number } = {}) {
    this.metrics = new ClassificationMetrics({ windowSize });
  }

  /** The class this baseline predicts for the next observation. */
  predict(): number | undefined {
    return this.leader;
  }

  /** Scores the current prediction against `actual`, then counts `actual`. */
  observe(actual: number): void {
    this.metrics.observe(this.leader, actual);
    const n = (this.frequency.get(actual) ?? 0) + 1;
    this.frequency.set(actual, n);
    if (n > this.leaderCount) {
      this.leader = actual;
      this.leaderCount = n;
    }
  }

  get count(): number {
    return this.metrics.count;
  }

  get accuracy(): number {
    return this.metrics.accuracy;
  }

  get macroF1(): number {
    return this.metrics.macroF1;
  }
}

/**
 * An online n-gram language model (interpolated Witten–Bell, see witten-bell-ngram.ts) scored on
 * the token stream: each token is predicted from its key's last n - 1 tokens, then counted. Counts
 * are shared by all keys, as the network's parameters are; each key has its own context, back to
 * the sequence start (BOS) after its `eos`. At most `maxKeys` keys keep a context (the least
 * recently seen is dropped beyond it, and starts again from BOS, as an evicted key of the network
 * starts again from its initial state), so memory is bounded by keys and by `maxContexts`.
 */
export class NgramBaseline {
  private readonly model: WittenBellNgram;
  private readonly maxKeys: number;
  /** Key -> its context; in least recently seen first order. Absent: at the sequence start. */
  private readonly keyContexts = new Map<string, NgramContext>();
  private readonly bits = new BitsPerToken();
  private readonly recentBits: BitsPerToken;

  constructor({
    order,
    vocabSize,
    maxContexts,
    maxKeys,
    windowSize,
  }: {
    order: number;
    vocabSize: number;
    maxContexts: number;
    maxKeys: number;
    /** Tokens in the `recentBitsPerToken` window. */
    windowSize?: number;
  }) {
    if (!(Number.isSafeInteger(maxKeys) && maxKeys >= 1)) {
      throw new RangeError(`maxKeys = ${maxKeys}: must be a positive integer`);
    }
    this.model = new WittenBellNgram({ order, vocabSize, maxContexts });
    this.maxKeys = maxKeys;
    this.recentBits = new BitsPerToken({ windowSize });
  }

  /** Scores P(token | the key's context), counts the token and returns that probability. */
  observe(key: string, token: number, { eos = false }: { eos?: boolean } = {}): number {
    let context = this.keyContexts.get(key);
    if (context === undefined) context = this.model.startContext();
    else this.keyContexts.delete(key); // re-inserted below: the Map's order is recency
    const p = this.model.observe(context, token);
    const nats = -Math.log(p);
    this.bits.observe(nats);
    this.recentBits.observe(nats);
    if (!eos) {
      this.keyContexts.set(key, context);
      if (this.keyContexts.size > this.maxKeys) {
        this.keyContexts.delete(this.keyContexts.keys().next().value as string);
      }
    }
    return p;
  }

  get order(): number {
    return this.model.order;
  }

  /** Tokens scored. */
  get count(): number {
    return this.bits.count;
  }

  get bitsPerToken(): number {
    return this.bits.bitsPerToken;
  }

  /** Over the last `windowSize` tokens. */
  get recentBitsPerToken(): number {
    return this.recentBits.bitsPerToken;
  }

  /** Stored contexts (n-gram trie nodes) and the bound on them. */
  get contexts(): number {
    return this.model.contexts;
  }

  get maxContexts(): number {
    return this.model.maxContexts;
  }

  /** Contexts not stored because `maxContexts` was reached. */
  get contextsDropped(): number {
    return this.model.contextsDropped;
  }

  /** Keys with a context (not at a sequence start). */
  get keys(): number {
    return this.keyContexts.size;
  }
}
