import { ClassificationMetrics } from './classification-metrics.js';

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
