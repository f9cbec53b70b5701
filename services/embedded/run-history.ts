import { DecimatingSeries } from './decimating-series.js';
import type { RunSummary } from './prequential-summary.js';

/** The summary metric a learning curve follows: the first of these the task reports. */
export const CURVE_METRICS = ['bitsPerToken', 'accuracy', 'mse'] as const;
export type CurveMetric = (typeof CURVE_METRICS)[number];

/** The task's metric after `events` predictions; null where it is not defined yet (NaN). */
export interface CurvePoint {
  readonly events: number;
  readonly seconds: number;
  /** Over every prediction so far: the summary's `metrics[metric]` at that point. */
  readonly value: number | null;
  /** Over the most recent predictions: the summary's `recent[metric]`. */
  readonly recent: number | null;
  /** The trivial predictor on the same predictions: the summary's `baselines[metric]`. */
  readonly baseline: number | null;
}

/** Events processed by `seconds` into the run (throughput is the slope between two points). */
export interface ThroughputPoint {
  readonly seconds: number;
  readonly events: number;
}

/** What `run --embedded --report` plots: series recorded while the run went on. */
export interface RunHistory {
  readonly metric: CurveMetric | undefined;
  readonly learningCurve: readonly CurvePoint[];
  readonly throughput: readonly ThroughputPoint[];
}

export interface RunHistoryOptions {
  /** Most points a series keeps (the step doubles when it would keep more). */
  readonly maxPoints?: number;
  /** Seconds between throughput points at the start of the run. */
  readonly initialSecondsStep?: number;
}

/**
 * Records the learning curve (the summary's metric every few events) and the throughput (events
 * done every few seconds) of a run, from the summary's own snapshots, so the last point of each
 * is exactly the summary the run prints. Both series stay within `maxPoints` on any stream.
 */
export class RunHistoryRecorder {
  private readonly snapshot: () => RunSummary;
  private readonly startedMs = Date.now();
  private events = 0;
  private readonly curve: DecimatingSeries<CurvePoint>;
  private readonly throughput: DecimatingSeries<ThroughputPoint>;

  constructor(snapshot: () => RunSummary, options: RunHistoryOptions = {}) {
    const capacity = options.maxPoints ?? 512;
    this.snapshot = snapshot;
    this.curve = new DecimatingSeries({ capacity, initialStep: 1 });
    this.throughput = new DecimatingSeries({
      capacity,
      initialStep: options.initialSecondsStep ?? 0.1,
    });
  }

  /** After each prediction the summary observed. */
  afterPrediction(): void {
    this.events++;
    if (this.curve.due(this.events)) this.curve.add(this.events, curvePoint(this.snapshot()));
  }

  /** After each batch (predictions are emitted a batch at a time, so time moves per batch). */
  afterBatch(): void {
    if (!this.throughput.due((Date.now() - this.startedMs) / 1000)) return;
    const { seconds, events } = this.snapshot();
    this.throughput.add(seconds, { seconds, events });
  }

  /** The series, each ending on the run's final summary. */
  finish(final: RunSummary): RunHistory {
    if (final.events > 0) this.curve.end(final.events, curvePoint(final));
    this.throughput.end(final.seconds, { seconds: final.seconds, events: final.events });
    return {
      metric: curveMetric(final),
      learningCurve: this.curve.points,
      throughput: this.throughput.points,
    };
  }
}

function curveMetric(summary: RunSummary): CurveMetric | undefined {
  return CURVE_METRICS.find((m) => summary.metrics[m] !== undefined);
}

function curvePoint(summary: RunSummary): CurvePoint {
  const metric = curveMetric(summary);
  const at = (figures: Partial<Record<CurveMetric, number>>): number | null => {
    const value = metric === undefined ? undefined : figures[metric];
    return value === undefined || Number.isNaN(value) ? null : value;
  };
  return {
    events: summary.events,
    seconds: summary.seconds,
    value: at(summary.metrics),
    recent: at(summary.recent),
    baseline: at(summary.baselines),
  };
}
