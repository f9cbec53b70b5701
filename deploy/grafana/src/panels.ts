import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  RowBuilder,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * The Prometheus data source every panel reads, by the uid that
 * deploy/grafana/provisioning/datasources/prometheus.yml gives it: a fixed uid (not a template
 * variable) so the exprs in the JSON are the plain PromQL the end-to-end test evaluates.
 */
export const PROMETHEUS = { type: 'prometheus', uid: 'prometheus' } as const;

/** The tag every rnnstream dashboard carries; the dashboards link to each other through it. */
export const DASHBOARD_TAG = 'rnnstream';

/** One PromQL query of a panel and the legend of its series (`{{label}}` placeholders). */
export interface Query {
  readonly expr: string;
  readonly legend: string;
  /** Drawn dashed: a reference line (a baseline), not a measurement. */
  readonly dashed?: boolean;
}

export interface TimeseriesSpec {
  readonly title: string;
  /** What the panel shows and what to do when it looks wrong (Grafana's (i) tooltip). */
  readonly description: string;
  /** A Grafana unit id: s, bytes, Bps, percentunit, short, … */
  readonly unit: string;
  readonly queries: readonly Query[];
  readonly axisLabel?: string;
  readonly min?: number;
  readonly max?: number;
  /** Panel width in grid columns (24 = full width); 12 by default. */
  readonly width?: number;
}

const PANEL_HEIGHT = 8;

/** A time series panel: one target per query, refIds A, B, … in order. */
export function timeseries(spec: TimeseriesSpec): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .height(PANEL_HEIGHT)
    .span(spec.width ?? 12)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom)
        .calcs([]),
    )
    .targets(
      spec.queries.map((query, i) =>
        new DataqueryBuilder()
          .refId(refId(i))
          .datasource(PROMETHEUS)
          .expr(query.expr)
          .legendFormat(query.legend),
      ),
    );
  spec.queries.forEach((query, i) => {
    if (query.dashed)
      panel.overrideByQuery(refId(i), [
        { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      ]);
  });
  if (spec.axisLabel !== undefined) panel.axisLabel(spec.axisLabel);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return panel;
}

/** Grafana's query letters: A, B, C, … */
function refId(index: number): string {
  return String.fromCharCode(65 + index);
}

/**
 * `histogram_quantile` of a histogram family over 5 minutes, summed over instances (keeping
 * `by` labels): the fleet's quantile, as the recording rules compute theirs.
 */
export function quantile(
  q: number,
  family: string,
  { by = [], window = '5m' }: { by?: readonly string[]; window?: string } = {},
): string {
  return `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (rate(${family}_bucket[${window}])))`;
}

/** p50, p90 and p99 of a histogram family, one query each. */
export function quantiles(
  family: string,
  { by = [], legendPrefix = '' }: { by?: readonly string[]; legendPrefix?: string } = {},
): Query[] {
  const labels = by.map((label) => ` {{${label}}}`).join('');
  return [0.5, 0.9, 0.99].map((q) => ({
    expr: quantile(q, family, { by }),
    legend: `${legendPrefix}p${Math.round(q * 100)}${labels}`,
  }));
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Rows of panels, in order; each row has a title. */
  readonly rows: ReadonlyArray<{
    readonly title: string;
    readonly panels: readonly TimeseriesPanelBuilder[];
  }>;
}

/**
 * A dashboard of the rnnstream set: the last hour, refreshed every 30 s, crosshair shared
 * between panels, and a drop-down linking to the other rnnstream dashboards. Panel ids are
 * assigned in order so that the JSON is the same on every generation.
 */
export function dashboard(spec: DashboardSpec): DashboardBuilder {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG])
    .timezone('browser')
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(
      new DashboardLinkBuilder('rnnstream')
        .type(DashboardLinkType.Dashboards)
        .tags([DASHBOARD_TAG])
        .asDropdown(true)
        .keepTime(true)
        .includeVars(false)
        .targetBlank(false)
        .icon('external link')
        .tooltip('')
        .url(''),
    );
  let id = 1;
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title).id(id++));
    for (const panel of row.panels) builder.withPanel(panel.id(id++));
  }
  return builder;
}
