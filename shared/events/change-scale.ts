/** Checkpoint form of a ChangeScale. */
export interface ChangeScaleJson {
  readonly horizon: number;
  readonly featureSize: number;
  /** [H·F] changes observed per (horizon step, feature). */
  readonly count: number[];
  /** [H·F] running mean of the squared changes. */
  readonly meanSquare: number[];
}

/**
 * The unit of a residual forecast head (docs/model-math.md, "Forecast head"): per horizon step h
 * and feature f, the root mean square of the observed changes `x[t+h-1] - base[t]`, where base[t]
 * is the key's last observed value before step t. The head predicts a change in this unit, so its
 * targets have an RMS of about 1 whatever the feature's units or how far ahead h looks.
 *
 * RMS rather than the standard deviation: a stream whose every key drifts at the same rate has
 * changes of zero variance, and dividing by their (floored) standard deviation would make targets
 * of a million. Before a change of (h, f) has been seen its scale is 1; it is floored at
 * sqrt(`meanSquareFloor`) so a feature that never changes does not divide by 0. With
 * `enabled: false` every scale is 1 (input.normalize false: the head predicts raw changes).
 *
 * Prequential order: read `scale` for a prediction before `observe` of any value it predicts.
 */
export class ChangeScale {
  readonly horizon: number;
  readonly featureSize: number;
  readonly enabled: boolean;
  readonly meanSquareFloor: number;
  private readonly counts: Float64Array;
  private readonly meanSquares: Float64Array;

  constructor({
    horizon,
    featureSize,
    enabled = true,
    meanSquareFloor = 1e-6,
  }: {
    horizon: number;
    featureSize: number;
    enabled?: boolean;
    meanSquareFloor?: number;
  }) {
    for (const [name, value] of [
      ['horizon', horizon],
      ['featureSize', featureSize],
    ] as const)
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${name} = ${value}: must be a positive integer`);
    this.horizon = horizon;
    this.featureSize = featureSize;
    this.enabled = enabled;
    this.meanSquareFloor = meanSquareFloor;
    this.counts = new Float64Array(horizon * featureSize);
    this.meanSquares = new Float64Array(horizon * featureSize);
  }

  /** The unit of horizon step h (1-based) for feature f. */
  scale(h: number, f: number): number {
    if (!this.enabled) return 1;
    const i = this.index(h, f);
    if (this.counts[i] === 0) return 1;
    return Math.sqrt(Math.max(this.meanSquares[i]!, this.meanSquareFloor));
  }

  /** Adds one observed change of feature f, h steps ahead, to the statistics. */
  observe(h: number, f: number, change: number): void {
    if (!this.enabled) return;
    const i = this.index(h, f);
    const n = ++this.counts[i]!;
    this.meanSquares[i]! += (change * change - this.meanSquares[i]!) / n;
  }

  toJSON(): ChangeScaleJson {
    return {
      horizon: this.horizon,
      featureSize: this.featureSize,
      count: Array.from(this.counts),
      meanSquare: Array.from(this.meanSquares),
    };
  }

  /** Statistics saved by toJSON (checked: a corrupt record throws RangeError). */
  static fromJSON(json: ChangeScaleJson, { enabled = true }: { enabled?: boolean } = {}) {
    const scale = new ChangeScale({ ...json, enabled });
    const n = json.horizon * json.featureSize;
    const valid = (values: unknown, min: number) =>
      Array.isArray(values) &&
      values.length === n &&
      values.every((v) => typeof v === 'number' && v >= min && Number.isFinite(v));
    if (!valid(json.count, 0) || !valid(json.meanSquare, 0))
      throw new RangeError(
        `change-scale checkpoint is inconsistent: horizon ${json.horizon} × featureSize ${json.featureSize} needs ${n} non-negative counts and mean squares`,
      );
    scale.counts.set(json.count);
    scale.meanSquares.set(json.meanSquare);
    return scale;
  }

  private index(h: number, f: number): number {
    if (!(h >= 1 && h <= this.horizon && f >= 0 && f < this.featureSize))
      throw new RangeError(
        `horizon step ${h}, feature ${f}: outside [1, ${this.horizon}] × [0, ${this.featureSize})`,
      );
    return (h - 1) * this.featureSize + f;
  }
}
