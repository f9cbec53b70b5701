import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * One row of a service's metric table (./worker-metrics.ts, ./paramserver-metrics.ts) and what
 * builds it. The naming rules of prom-client / Prometheus hold for every row (checked by
 * test/shared/metrics): a service prefix, base units in the name (seconds, bytes), counters end
 * in `_total`, durations are histograms, and a label takes one of a few fixed values (never a
 * key or a worker id), each series created at 0 so a rate() sees it from the start.
 */
export interface Family<Type extends 'counter' | 'gauge' | 'histogram', Label extends string> {
  readonly type: Type;
  readonly name: string;
  /** The unit the name carries, when it has one. */
  readonly unit?: 'seconds' | 'bytes' | 'versions' | 'ratio' | 'offsets' | 'bits' | 'nats';
  readonly help: string;
  readonly labels?: { readonly name: Label; readonly values: readonly string[] };
  /** Histograms: upper bounds of the buckets. */
  readonly buckets?: readonly number[];
}

type Fields = Pick<Family<never, never>, 'name' | 'unit' | 'help'>;

export function counter<Label extends string = string>(
  row: Fields & { labels?: { name: Label; values: readonly string[] } },
): Family<'counter', Label> {
  return { type: 'counter', ...row };
}

/**
 * A gauge; with `labels` of no listed values (e.g. `partition`) the series appear as they are set
 * and are removed when they stop applying (a revoked partition), never per key.
 */
export function gauge<Label extends string = string>(
  row: Fields & { labels?: { name: Label; values: readonly string[] } },
): Family<'gauge', Label> {
  return { type: 'gauge', ...row };
}

export function histogram<Label extends string = string>(
  row: Fields & { buckets: readonly number[]; labels?: { name: Label; values: readonly string[] } },
): Family<'histogram', Label> {
  return { type: 'histogram', ...row };
}

export type AnyFamily = Family<'counter' | 'gauge' | 'histogram', string>;

/** The prom-client object a row builds. */
export type MetricOf<F> =
  F extends Family<'counter', infer L>
    ? Counter<L>
    : F extends Family<'gauge', infer L>
      ? Gauge<L>
      : F extends Family<'histogram', infer L>
        ? Histogram<L>
        : never;

/** Registers every row of `table` in `registry`, in table order; same field names as the table. */
export function registerFamilies<T extends Record<string, AnyFamily>>(
  registry: Registry,
  table: T,
): { [K in keyof T]: MetricOf<T[K]> } {
  const built: Record<string, Counter | Gauge | Histogram> = {};
  for (const [field, row] of Object.entries(table)) {
    const common = {
      name: row.name,
      help: row.help,
      registers: [registry],
      ...(row.labels ? { labelNames: [row.labels.name] } : {}),
    };
    if (row.type === 'counter') {
      const metric = new Counter(common);
      for (const value of row.labels?.values ?? []) metric.inc({ [row.labels!.name]: value }, 0);
      built[field] = metric;
    } else if (row.type === 'gauge') {
      const metric = new Gauge(common);
      for (const value of row.labels?.values ?? []) metric.set({ [row.labels!.name]: value }, 0);
      built[field] = metric;
    } else {
      const metric = new Histogram({ ...common, buckets: [...(row.buckets ?? [])] });
      // Each labelled series exists (with zero counts) from the start, as the counters' do.
      for (const value of row.labels?.values ?? []) metric.zero({ [row.labels!.name]: value });
      built[field] = metric;
    }
  }
  return built as { [K in keyof T]: MetricOf<T[K]> };
}
