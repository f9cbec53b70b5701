/** The scores of one horizon step h (a row of the summary's `metrics.perHorizon`). */
export interface HorizonScores {
  /** Steps ahead: 1 forecasts the next event of the key. */
  readonly h: number;
  /** Values scored (features of events), the same for the model and both baselines. */
  readonly count: number;
  readonly mse: number;
  readonly mae: number;
  /** Mean absolute scaled error: MAE / the last-value forecast's MAE at this h (< 1 beats it). */
  readonly mase: number;
  /** MSE / the last-value forecast's MSE at this h (< 1 beats it). */
  readonly relativeMse: number;
  readonly lastValueMse: number;
  readonly lastValueMae: number;
  /** The key's running mean (of its values so far) as the forecast. */
  readonly runningMeanMse: number;
  readonly runningMeanMae: number;
}

/** One key's prediction line as the scores read it. */
export interface ForecastLine {
  readonly key: string;
  /** forecasts[h - 1]: the prediction for the key's event h - 1 events after this one. */
  readonly forecasts: ReadonlyArray<ArrayLike<number>>;
  /** This event's values in original units, NaN where missing. */
  readonly actual: ArrayLike<number>;
  readonly eos: boolean;
}

/** Sums of squared and absolute errors of one forecaster at one horizon step. */
class ErrorSums {
  squared = 0;
  absolute = 0;
  add(predicted: number, actual: number): void {
    const d = predicted - actual;
    this.squared += d * d;
    this.absolute += Math.abs(d);
  }
}

/** What a line left to score once the key's later events arrive. */
interface OpenLine {
  readonly forecasts: ReadonlyArray<ArrayLike<number>>;
  /** The key's last value and running mean of each feature before the line's event (NaN: none). */
  readonly lastValue: Float64Array;
  readonly runningMean: Float64Array;
  /** Events of the key seen since the line's event, counting its own: scored at h = age. */
  age: number;
}

interface KeyHistory {
  readonly last: Float64Array;
  readonly sum: Float64Array;
  readonly seen: Float64Array;
  open: OpenLine[];
}

/**
 * Prequential forecast scores per horizon step, of the model and of two baselines on exactly the
 * same values, so their ratios (MASE, relative MSE) compare like with like:
 * - last value ("persistence"): the key's last observed value of the feature, h steps ahead too;
 * - running mean: the mean of the key's values of the feature so far.
 *
 * A line's forecast h steps ahead is scored when the key's event h - 1 events later arrives,
 * feature by feature, where that event has the value and the key had shown the feature before
 * the line's event (else no baseline has a forecast). Both reset at a key's `eos`, as the
 * model's state does: a forecast is not scored across it.
 */
export class ForecastScores {
  readonly horizon: number;
  private readonly model: ErrorSums[];
  private readonly lastValue: ErrorSums[];
  private readonly runningMean: ErrorSums[];
  private readonly counts: number[];
  private readonly keys = new Map<string, KeyHistory>();

  constructor({ horizon }: { horizon: number }) {
    if (!(Number.isSafeInteger(horizon) && horizon >= 1))
      throw new RangeError(`horizon = ${horizon}: must be a positive integer`);
    this.horizon = horizon;
    const sums = () => Array.from({ length: horizon }, () => new ErrorSums());
    this.model = sums();
    this.lastValue = sums();
    this.runningMean = sums();
    this.counts = new Array<number>(horizon).fill(0);
  }

  observe(line: ForecastLine): void {
    const F = line.actual.length;
    const history = this.historyOf(line.key, F);
    history.open.push({
      forecasts: line.forecasts.slice(0, this.horizon),
      lastValue: history.last.slice(),
      runningMean: history.sum.map((s, f) => (history.seen[f]! > 0 ? s / history.seen[f]! : NaN)),
      age: 0,
    });
    for (const open of history.open) {
      const h = ++open.age;
      const forecast = open.forecasts[h - 1];
      if (forecast === undefined) continue;
      for (let f = 0; f < F; f++) {
        const actual = line.actual[f]!;
        if (Number.isNaN(actual) || Number.isNaN(open.lastValue[f]!)) continue;
        this.model[h - 1]!.add(forecast[f]!, actual);
        this.lastValue[h - 1]!.add(open.lastValue[f]!, actual);
        this.runningMean[h - 1]!.add(open.runningMean[f]!, actual);
        this.counts[h - 1]!++;
      }
    }
    history.open = history.open.filter((open) => open.age < this.horizon);
    for (let f = 0; f < F; f++) {
      const actual = line.actual[f]!;
      if (Number.isNaN(actual)) continue;
      history.last[f] = actual;
      history.sum[f]! += actual;
      history.seen[f]!++;
    }
    if (line.eos) this.keys.delete(line.key);
  }

  private historyOf(key: string, F: number): KeyHistory {
    let history = this.keys.get(key);
    if (!history) {
      history = {
        last: new Float64Array(F).fill(NaN),
        sum: new Float64Array(F),
        seen: new Float64Array(F),
        open: [],
      };
      this.keys.set(key, history);
    }
    return history;
  }

  /** One row per horizon step; NaN figures before anything was scored at that step. */
  perHorizon(): HorizonScores[] {
    return this.counts.map((count, i) => {
      const mean = (sum: number) => (count > 0 ? sum / count : NaN);
      const mse = mean(this.model[i]!.squared);
      const mae = mean(this.model[i]!.absolute);
      const lastValueMse = mean(this.lastValue[i]!.squared);
      const lastValueMae = mean(this.lastValue[i]!.absolute);
      return {
        h: i + 1,
        count,
        mse,
        mae,
        mase: mae / lastValueMae,
        relativeMse: mse / lastValueMse,
        lastValueMse,
        lastValueMae,
        runningMeanMse: mean(this.runningMean[i]!.squared),
        runningMeanMae: mean(this.runningMean[i]!.absolute),
      };
    });
  }
}
