/** A ForecastMemory as plain data (the state changelog's ForecastMemory message). */
export interface ForecastMemorySnapshot {
  /** [F] the last observed value of each feature, NaN if none yet. */
  readonly lastTarget: Float64Array;
  /** [H·F] the base of each of the last H steps, step p in row p mod H. */
  readonly bases: Float64Array;
}

/**
 * What a residual forecast head measures its targets from, for one key (docs/model-math.md,
 * "Forecast head"): the last observed value of each feature (carried forward over missing
 * readings), and the base each of the last H steps was forecast from — the target h steps ahead
 * arrives h - 1 steps after its step and is the change from that step's base, not the current one.
 * Values are in original units; NaN marks a feature not observed since the sequence started.
 */
export class ForecastMemory {
  readonly horizon: number;
  readonly featureSize: number;
  readonly lastTarget: Float64Array;
  private readonly bases: Float64Array;

  constructor({ horizon, featureSize }: { horizon: number; featureSize: number }) {
    this.horizon = horizon;
    this.featureSize = featureSize;
    this.lastTarget = new Float64Array(featureSize).fill(NaN);
    this.bases = new Float64Array(horizon * featureSize).fill(NaN);
  }

  /** Remembers the current last values as the base of the step at `position`. */
  recordBase(position: number): void {
    this.bases.set(this.lastTarget, (position % this.horizon) * this.featureSize);
  }

  /** The base of feature f of the step at `position` (one of the last H steps). */
  baseOf(position: number, f: number): number {
    return this.bases[(position % this.horizon) * this.featureSize + f]!;
  }

  /** Carries the observed values forward; a missing one (NaN) keeps the previous value. */
  observe(values: ArrayLike<number>): void {
    for (let f = 0; f < this.featureSize; f++)
      if (!Number.isNaN(values[f]!)) this.lastTarget[f] = values[f]!;
  }

  /** A new sequence (after eos): nothing observed. */
  reset(): void {
    this.lastTarget.fill(NaN);
    this.bases.fill(NaN);
  }

  toSnapshot(): ForecastMemorySnapshot {
    return { lastTarget: this.lastTarget.slice(), bases: this.bases.slice() };
  }

  restore(snapshot: ForecastMemorySnapshot): void {
    if (
      snapshot.lastTarget.length !== this.lastTarget.length ||
      snapshot.bases.length !== this.bases.length
    )
      throw new RangeError(
        `forecast memory has ${snapshot.lastTarget.length} last values and ${snapshot.bases.length} bases; this model keeps ${this.featureSize} and ${this.bases.length} (horizon ${this.horizon} × ${this.featureSize} features)`,
      );
    this.lastTarget.set(snapshot.lastTarget);
    this.bases.set(snapshot.bases);
  }

  byteLength(): number {
    return this.lastTarget.byteLength + this.bases.byteLength;
  }
}
