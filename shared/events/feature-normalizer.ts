import { InputError } from '../errors/index.js';
import { ChangeScale, type ChangeScaleJson } from './change-scale.js';

/** Checkpoint form of a FeatureNormalizer. */
export interface FeatureNormalizerJson {
  readonly featureSize: number;
  readonly enabled: boolean;
  readonly varianceFloor: number;
  readonly count: number;
  readonly mean: number[];
  readonly m2: number[];
  /** Values observed per feature (a missing feature is not counted); absent: `count` for each. */
  readonly featureCounts?: number[] | undefined;
  /** A forecast head's change statistics; absent in records written before residual heads. */
  readonly changes?: ChangeScaleJson | undefined;
}

/**
 * Online standardisation per feature, z = (x - mean) / std, with Welford's running mean and
 * variance (numerically stable over long streams).
 *
 * Prequential order: for each event call `normalize(x)` first (statistics of the events *before*
 * it, so the model never sees a statistic that includes the value it predicts), then `observe(x)`.
 * `denormalize` uses the current statistics, so call it with the same statistics the standardised
 * value was made with (i.e. before `observe` of the event being predicted).
 *
 * Until two values of a feature have been observed its scale is 1 (a variance of one sample is
 * meaningless); after that the variance is floored at `varianceFloor` so a constant feature does
 * not divide by 0. A missing feature (NaN) stays NaN in both directions and is not observed.
 * With `enabled: false` both directions are the identity.
 *
 * `changes` holds the unit of a residual forecast head (./change-scale.ts): statistics of the same
 * stream, saved and restored with these.
 */
export class FeatureNormalizer {
  readonly featureSize: number;
  readonly enabled: boolean;
  readonly varianceFloor: number;
  readonly changes: ChangeScale;
  private countSeen = 0;
  /** Values observed per feature. */
  private readonly counts: Float64Array;
  private readonly mean: Float64Array;
  /** Sum of squared deviations from the mean (Welford's M2). */
  private readonly m2: Float64Array;

  constructor({
    featureSize,
    enabled = true,
    varianceFloor = 1e-6,
    horizon = 1,
    changes,
  }: {
    featureSize: number;
    enabled?: boolean;
    varianceFloor?: number;
    /** Horizon steps of the forecast head the change statistics are kept for. */
    horizon?: number;
    /** Change statistics to continue (restore); default: fresh ones for `horizon` steps. */
    changes?: ChangeScale | undefined;
  }) {
    if (!Number.isSafeInteger(featureSize) || featureSize < 1) {
      throw new RangeError(`featureSize = ${featureSize}: must be a positive integer`);
    }
    if (!(varianceFloor > 0 && Number.isFinite(varianceFloor))) {
      throw new RangeError(`varianceFloor = ${varianceFloor}: must be a finite number > 0`);
    }
    this.featureSize = featureSize;
    this.enabled = enabled;
    this.varianceFloor = varianceFloor;
    this.mean = new Float64Array(featureSize);
    this.m2 = new Float64Array(featureSize);
    this.counts = new Float64Array(featureSize);
    this.changes = changes ?? new ChangeScale({ horizon, featureSize, enabled });
  }

  /** Number of vectors observed. */
  get count(): number {
    return this.countSeen;
  }

  /** Standardises with the statistics of the vectors observed so far. */
  normalize(features: ArrayLike<number>, { line }: { line?: number } = {}): Float32Array {
    this.checkLength(features, line);
    const z = new Float32Array(this.featureSize);
    for (let i = 0; i < this.featureSize; i++) {
      z[i] = this.enabled ? (features[i] - this.mean[i]) / this.std(i) : features[i];
    }
    return z;
  }

  /** Maps a standardised vector back to original units. */
  denormalize(z: ArrayLike<number>, { line }: { line?: number } = {}): Float64Array {
    this.checkLength(z, line);
    const x = new Float64Array(this.featureSize);
    for (let i = 0; i < this.featureSize; i++) {
      x[i] = this.enabled ? z[i] * this.std(i) + this.mean[i] : z[i];
    }
    return x;
  }

  /** Adds one vector to the running statistics (a no-op when disabled). */
  observe(features: ArrayLike<number>, { line }: { line?: number } = {}): void {
    this.checkLength(features, line);
    if (!this.enabled) return;
    this.countSeen++;
    for (let i = 0; i < this.featureSize; i++) {
      const x = features[i];
      if (Number.isNaN(x)) continue; // missing: nothing to learn about this feature
      const n = ++this.counts[i];
      const delta = x - this.mean[i];
      this.mean[i] = this.mean[i] + delta / n;
      this.m2[i] = this.m2[i] + delta * (x - this.mean[i]);
    }
  }

  /** The running mean of feature i (0 before its first value): the best guess for it unseen. */
  meanOf(i: number): number {
    return this.enabled ? this.mean[i] : 0;
  }

  /** Current mean and standard deviation per feature, as used by normalize. */
  statistics(): { mean: Float64Array; std: Float64Array } {
    const std = new Float64Array(this.featureSize);
    for (let i = 0; i < this.featureSize; i++) std[i] = this.enabled ? this.std(i) : 1;
    return { mean: this.enabled ? this.mean.slice() : new Float64Array(this.featureSize), std };
  }

  toJSON(): FeatureNormalizerJson {
    return {
      featureSize: this.featureSize,
      enabled: this.enabled,
      varianceFloor: this.varianceFloor,
      count: this.countSeen,
      mean: Array.from(this.mean),
      m2: Array.from(this.m2),
      featureCounts: Array.from(this.counts),
      changes: this.changes.toJSON(),
    };
  }

  /** Statistics saved by toJSON; `horizon` sizes the change statistics of an older record. */
  static fromJSON(json: FeatureNormalizerJson, { horizon = 1 }: { horizon?: number } = {}) {
    if (
      json.changes !== undefined &&
      (json.changes.horizon !== horizon || json.changes.featureSize !== json.featureSize)
    )
      throw new RangeError(
        `normalizer checkpoint has change statistics for horizon ${json.changes.horizon} × ${json.changes.featureSize} features, the model forecasts ${horizon} × ${json.featureSize}`,
      );
    const changes =
      json.changes === undefined
        ? undefined
        : ChangeScale.fromJSON(json.changes, { enabled: json.enabled });
    const normalizer = new FeatureNormalizer({ ...json, horizon, changes });
    if (
      json.mean.length !== json.featureSize ||
      json.m2.length !== json.featureSize ||
      !Number.isSafeInteger(json.count) ||
      json.count < 0
    ) {
      throw new RangeError(
        `normalizer checkpoint is inconsistent: featureSize ${json.featureSize}, ${json.mean.length} means, ${json.m2.length} M2 values, count ${json.count}`,
      );
    }
    const counts = json.featureCounts ?? json.mean.map(() => json.count);
    if (
      counts.length !== json.featureSize ||
      counts.some((c) => !Number.isSafeInteger(c) || c < 0 || c > json.count)
    )
      throw new RangeError(
        `normalizer checkpoint is inconsistent: featureCounts ${JSON.stringify(counts).slice(0, 80)} for featureSize ${json.featureSize} and count ${json.count}`,
      );
    normalizer.countSeen = json.count;
    normalizer.counts.set(counts);
    normalizer.mean.set(json.mean);
    normalizer.m2.set(json.m2);
    return normalizer;
  }

  private std(i: number): number {
    if (this.counts[i] < 2) return 1;
    // Population variance: the statistic of the stream seen, not an estimate of a wider one.
    return Math.sqrt(Math.max(this.m2[i] / this.counts[i], this.varianceFloor));
  }

  private checkLength(features: ArrayLike<number>, line: number | undefined): void {
    if (features.length !== this.featureSize) {
      throw new InputError({
        line,
        reason: `expected ${this.featureSize} features (input.featureSize), received ${features.length}`,
        fix: `send exactly ${this.featureSize} numbers per event, or set input.featureSize to ${features.length}`,
      });
    }
  }
}
