import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RunSummary } from './prequential-summary.js';
import type { CurveMetric, RunHistory } from './run-history.js';

export interface HtmlReportInput {
  /** What the page is about (the task and the input), in the title and heading. */
  readonly title: string;
  readonly summary: RunSummary;
  readonly history: RunHistory;
}

/** How the page names each curve metric and its baseline. */
const METRIC_TEXT: Record<
  CurveMetric,
  { name: string; better: string; baseline: string; baselineText: string }
> = {
  bitsPerToken: {
    name: 'bits per token',
    better: 'lower is better',
    baseline: 'uniform',
    baselineText: 'a uniform distribution over the vocabulary, log2(vocabulary size) bits',
  },
  accuracy: {
    name: 'accuracy',
    better: 'higher is better',
    baseline: 'majority class',
    baselineText: 'always the most frequent class so far',
  },
  mse: {
    name: 'MSE (original units)',
    better: 'lower is better',
    baseline: 'last value',
    baselineText: "the key's last value as the forecast",
  },
};

/**
 * `run --embedded --report`: one self-contained HTML page (uPlot and its CSS inlined, no network)
 * with the learning curve against the baseline, throughput over time, the summary's figures and
 * its per-class or per-horizon table. The data the charts plot is in the page as JSON
 * (`<script id="report-data">`), and the charts are `window.rnnstreamReport.charts`.
 */
export function renderHtmlReport({ title, summary, history }: HtmlReportInput): string {
  const text = history.metric === undefined ? undefined : METRIC_TEXT[history.metric];
  const data = { summary, history, text };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${uplotAsset('uPlot.min.css')}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="facts">${escapeHtml(facts(summary))}</p>
${figuresTable(summary)}
<h2>Learning curve${text ? `: ${escapeHtml(text.name)} (${escapeHtml(text.better)})` : ''}</h2>
<p class="note">Prequential: every prediction is scored before the model learns from it. <em>so far</em> is over every prediction up to that point, <em>recent</em> over the last ones (as the summary's <code>recent</code>), the dashed line the baseline on the same stream${text ? `: ${escapeHtml(text.baselineText)}` : ''}.</p>
<div id="learning-curve" class="chart"></div>
<h2>Throughput</h2>
<p class="note">Events predicted and learned from per second, between consecutive points (batches arrive whole, so short runs have few points); the dashed line is the run's mean, the summary's <code>tokensPerSecond</code>.</p>
<div id="throughput" class="chart"></div>
${tableSection('Per class', 'per-class', summary.metrics.perClass)}
${tableSection('Per horizon', 'per-horizon', (summary.metrics as Record<string, unknown>).perHorizon)}
${trainingSection(summary)}
<script>${uplotAsset('uPlot.iife.min.js')}</script>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

const require = createRequire(import.meta.url);

/** A file of the uplot package's dist folder, as text. */
function uplotAsset(file: string): string {
  return readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** JSON that cannot close its <script> element (nor start an HTML comment). */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function format(value: unknown): string {
  if (typeof value !== 'number') return value === undefined || value === null ? '—' : String(value);
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

function facts(s: RunSummary): string {
  return [
    `${s.events} events`,
    `${s.keys} keys`,
    `${s.skipped} skipped`,
    `${format(s.seconds)} s`,
    `${format(s.tokensPerSecond)} events/s`,
    `parameter version ${s.paramVersion}`,
  ].join(' · ');
}

/** The summary's scalar metrics beside the baselines' same figures. */
function figuresTable(s: RunSummary): string {
  const names = Object.entries(s.metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([k]) => k);
  if (names.length === 0) return '';
  const baselines = s.baselines as Record<string, number | undefined>;
  const metrics = s.metrics as Record<string, unknown>;
  const rows = names.map(
    (k) =>
      `<tr><th>${escapeHtml(k)}</th><td>${format(metrics[k])}</td><td>${format(baselines[k])}</td></tr>`,
  );
  return `<table id="figures"><thead><tr><th>metric</th><th>model</th><th>baseline</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * A table of named rows of figures, e.g. `{"spam": {"precision": 0.9, ...}}` or an array of such
 * objects (rows numbered from 1); nothing when absent. Rows with a `support` come most supported
 * first.
 */
function tableSection(heading: string, id: string, table: unknown): string {
  if (table === null || typeof table !== 'object') return '';
  const entries: Array<[string, Record<string, unknown>]> = Array.isArray(table)
    ? table.map((row: Record<string, unknown>, i) => {
        // Rows that name themselves (perHorizon's `h`) are labelled by it, not by position.
        const { h, ...rest } = row;
        return h === undefined ? [String(i + 1), row] : [String(h), rest];
      })
    : Object.entries(table as Record<string, Record<string, unknown>>);
  if (entries.length === 0) return '';
  entries.sort(([, a], [, b]) => Number(b.support ?? 0) - Number(a.support ?? 0));
  const columns = [...new Set(entries.flatMap(([, row]) => Object.keys(row)))];
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = entries
    .map(
      ([name, row]) =>
        `<tr><th>${escapeHtml(name)}</th>${columns.map((c) => `<td>${format(row[c])}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<h2>${escapeHtml(heading)}</h2>
<table id="${id}"><thead><tr><th></th>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function trainingSection(s: RunSummary): string {
  if (!s.training) return '';
  const t = s.training;
  return `<h2>Training</h2>
<p class="facts">${t.trainSteps} training steps · ${t.endOfInputSteps} steps trained at the end of input · ${t.untrainedSteps} steps never trained (${t.untrained.evicted} evicted first)</p>`;
}

const PAGE_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 960px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.8em; }
.facts, .note { color: #555; }
.chart { margin: 0.5em 0; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child { text-align: left; }
`;

/**
 * Runs in the page: draws the two charts from the JSON island with uPlot. Throughput between two
 * points is (events difference) / (seconds difference); the first point's is from the start.
 */
const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var history = data.history;
  var width = Math.min(920, document.body.clientWidth || 920);
  var curve = history.learningCurve;
  var curveData = [
    curve.map(function (p) { return p.events; }),
    curve.map(function (p) { return p.value; }),
    curve.map(function (p) { return p.recent; }),
    curve.map(function (p) { return p.baseline; })
  ];
  var name = data.text ? data.text.name : 'metric';
  var learningCurve = new uPlot({
    width: width, height: 320,
    scales: { x: { time: false } },
    axes: [{ label: 'events' }, { label: name }],
    series: [
      { label: 'events' },
      { label: name + ' so far', stroke: '#1f77b4', width: 2 },
      { label: name + ' recent', stroke: '#ff7f0e', width: 1 },
      { label: (data.text ? data.text.baseline : 'baseline') + ' baseline', stroke: '#555', width: 1, dash: [8, 6] }
    ]
  }, curveData, document.getElementById('learning-curve'));
  var points = history.throughput;
  var rates = points.map(function (p, i) {
    var before = i === 0 ? { seconds: 0, events: 0 } : points[i - 1];
    var dt = p.seconds - before.seconds;
    return dt > 0 ? (p.events - before.events) / dt : null;
  });
  var throughput = new uPlot({
    width: width, height: 240,
    scales: { x: { time: false, range: function (u, min, max) { return [0, max]; } } },
    axes: [{ label: 'seconds' }, { label: 'events / s' }],
    series: [
      { label: 'seconds' },
      { label: 'events / s', stroke: '#2ca02c', width: 2 },
      { label: 'mean events / s', stroke: '#555', width: 1, dash: [8, 6] }
    ]
  }, [
    points.map(function (p) { return p.seconds; }),
    rates,
    points.map(function () { return data.summary.tokensPerSecond; })
  ], document.getElementById('throughput'));
  window.rnnstreamReport = { data: data, charts: { learningCurve: learningCurve, throughput: throughput } };
})();
`;
