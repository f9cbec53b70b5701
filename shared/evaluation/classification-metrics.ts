interface ClassCounts {
  tp: number;
  fp: number;
  fn: number;
}

/** One class's row of a report: `support` is how many pairs had this class as the target. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * Accuracy and macro-F1 of class predictions, from (predicted, actual) id pairs, over the whole
 * stream or the last `windowSize` pairs.
 *
 * Macro-F1 is the unweighted mean, over every class that occurs as a target or as a prediction,
 * of F1 = 2 TP / (2 TP + FP + FN). A class that is only ever predicted (never a target) counts
 * with F1 = 0, so spraying predictions over unused classes is penalised; classes that never occur
 * are not counted. A `predicted` of undefined means "no prediction": a miss for the target class
 * (FN) without a false positive for any class.
 */
export class ClassificationMetrics {
  readonly windowSize: number | undefined;
  private readonly counts = new Map<number, ClassCounts>();
  private readonly predictedRing: Int32Array | undefined;
  private readonly actualRing: Int32Array | undefined;
  private next = 0;
  private filled = 0;
  private correct = 0;

  constructor({ windowSize }: { windowSize?: number } = {}) {
    if (windowSize !== undefined && !(Number.isSafeInteger(windowSize) && windowSize >= 1)) {
      throw new RangeError(
        `windowSize = ${windowSize}: must be a positive integer, or absent for the whole stream`,
      );
    }
    this.windowSize = windowSize;
    if (windowSize !== undefined) {
      this.predictedRing = new Int32Array(windowSize);
      this.actualRing = new Int32Array(windowSize);
    }
  }

  observe(predicted: number | undefined, actual: number): void {
    checkId(actual, 'actual');
    if (predicted !== undefined) checkId(predicted, 'predicted');
    if (
      this.predictedRing !== undefined &&
      this.actualRing !== undefined &&
      this.windowSize !== undefined
    ) {
      if (this.filled === this.windowSize) {
        const old = this.predictedRing[this.next];
        this.tally(old === -1 ? undefined : old, this.actualRing[this.next], -1);
      } else {
        this.filled++;
      }
      // -1 marks "no prediction" in the ring (ids are >= 0).
      this.predictedRing[this.next] = predicted ?? -1;
      this.actualRing[this.next] = actual;
      this.next = (this.next + 1) % this.windowSize;
    } else {
      this.filled++;
    }
    this.tally(predicted, actual, 1);
  }

  /** Pairs counted (at most windowSize when windowed). */
  get count(): number {
    return this.filled;
  }

  /** Fraction of pairs with predicted === actual; NaN before the first pair. */
  get accuracy(): number {
    return this.filled === 0 ? NaN : this.correct / this.filled;
  }

  /** See the class comment; NaN before the first pair. */
  get macroF1(): number {
    if (this.counts.size === 0) return NaN;
    let sum = 0;
    for (const { tp, fp, fn } of this.counts.values()) sum += (2 * tp) / (2 * tp + fp + fn);
    return sum / this.counts.size;
  }

  /**
   * Precision, recall, F1 and support of every class macro-F1 averages over (classes that occur
   * as a target or a prediction), so the mean of the `f1` column is exactly `macroF1`. A ratio
   * with a zero denominator (a class never predicted has no precision, one never a target no
   * recall) is reported as 0: such a class has TP = 0, and 0 is what its F1 counts in macro-F1.
   */
  classScores(): Map<number, ClassScores> {
    const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);
    return new Map(
      [...this.counts].map(([id, { tp, fp, fn }]) => [
        id,
        {
          precision: ratio(tp, tp + fp),
          recall: ratio(tp, tp + fn),
          // The same expression as macroF1, so the two cannot disagree by rounding.
          f1: (2 * tp) / (2 * tp + fp + fn),
          support: tp + fn,
        },
      ]),
    );
  }

  /** Per-class counts, for reports. */
  perClass(): Map<number, Readonly<ClassCounts>> {
    return new Map([...this.counts].map(([id, c]) => [id, { ...c }]));
  }

  private tally(predicted: number | undefined, actual: number, delta: 1 | -1): void {
    if (predicted === actual) {
      this.bump(actual, 'tp', delta);
      this.correct += delta;
      return;
    }
    this.bump(actual, 'fn', delta);
    if (predicted !== undefined) this.bump(predicted, 'fp', delta);
  }

  private bump(id: number, field: keyof ClassCounts, delta: 1 | -1): void {
    const c = this.counts.get(id) ?? { tp: 0, fp: 0, fn: 0 };
    c[field] += delta;
    // A class that left the window no longer "appears", so it leaves the macro average too.
    if (c.tp === 0 && c.fp === 0 && c.fn === 0) this.counts.delete(id);
    else this.counts.set(id, c);
  }
}

function checkId(id: number, name: string): void {
  if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
    throw new RangeError(`${name} class id ${id}: must be an integer >= 0`);
  }
}
