/**
 * Forecast quality on public time series (BENCHMARKS.md, "Learning quality: forecasting"): turns
 * CSVs of the vega_datasets wheel into event JSON lines, runs `rnnstream run --embedded` on them
 * and scores its prediction lines per horizon step against last-value and running-mean.
 *
 *   pip download vega_datasets --no-deps -d /tmp/vega && (cd /tmp/vega && unzip -o -q vega_datasets-*.whl)
 *   npm run build && node dist/bench/forecast-vega.js --data /tmp/vega/vega_datasets/_data \
 *     [--dataset temps|stocks] [--horizon 3] [--cli bin/rnnstream.js] [--label after]
 *     [--conv-width K --conv-dilation D --conv-channels C --conv-activation tanh|relu|linear]
 *     [--seed 1]
 *
 * Datasets: `temps` — hourly temperatures of 2010 in Seattle and San Francisco (seattle-temps.csv,
 * sf-temps.csv), one key per city, 17,518 events interleaved by hour; `stocks` — monthly prices
 * of five tickers 2000–2010 (stocks.csv), one key per ticker, 560 events interleaved by month.
 * `--cli` runs another build (e.g. main's, for the "before" column; without task.horizon when
 * --horizon is 1). The scores come from the prediction lines alone (shared/evaluation/
 * forecast-scores.ts), so every build is scored the same way. Writes
 * bench/results/forecast-vega-<dataset>-<label>.json. `--conv-width K` (K ≥ 1) puts a causal
 * convolutional front end (model.conv) before the LSTM, everything else unchanged.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForecastScores } from '../shared/evaluation/index.js';
import { benchArgs, positiveNumber } from './bench-args.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = benchArgs({
  data: '',
  dataset: 'temps',
  horizon: '3',
  cli: path.join(ROOT, 'bin', 'rnnstream.js'),
  label: 'after',
  'conv-width': '0',
  'conv-dilation': '1',
  'conv-channels': '16',
  'conv-activation': 'tanh',
  seed: '1',
});
if (args.data === '') throw new Error('--data DIR: the _data folder of the vega_datasets wheel');
const horizon = positiveNumber('horizon', args.horizon, '3');

/** Rows of a CSV with a header line (these files have no quoted commas). */
function csv(name: string): Array<Record<string, string>> {
  const [header, ...lines] = readFileSync(path.join(args.data, name), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [columns[i]!, v])));
}

/** Events of several keys, each a list of [time, value] in time order, interleaved by time. */
function interleaved(series: Record<string, Array<[string, number]>>): object[] {
  const byTime = new Map<string, Array<{ key: string; features: number[] }>>();
  for (const [key, points] of Object.entries(series))
    for (const [time, value] of points) {
      const list = byTime.get(time) ?? [];
      list.push({ key, features: [value] });
      byTime.set(time, list);
    }
  return [...byTime.keys()].sort().flatMap((time) => byTime.get(time)!);
}

function events(): object[] {
  if (args.dataset === 'temps')
    return interleaved({
      seattle: csv('seattle-temps.csv').map((r) => [r.date!.slice(0, 16), Number(r.temp)]),
      'san-francisco': csv('sf-temps.csv').map((r) => [r.date!.slice(0, 16), Number(r.temp)]),
    });
  if (args.dataset === 'stocks') {
    const series: Record<string, Array<[string, number]>> = {};
    for (const r of csv('stocks.csv')) {
      const time = new Date(`${r.date} UTC`).toISOString().slice(0, 7);
      (series[r.symbol!] ??= []).push([time, Number(r.price)]);
    }
    return interleaved(series);
  }
  throw new Error(`--dataset ${args.dataset}: expected temps or stocks`);
}

const dir = mkdtempSync(path.join(tmpdir(), 'rnnstream-forecast-vega-'));
const input = path.join(dir, 'events.jsonl');
const lines = events();
writeFileSync(input, lines.map((e) => JSON.stringify(e)).join('\n') + '\n');
const config = {
  task: { type: 'forecast', ...(horizon > 1 ? { horizon } : {}) },
  input: { kind: 'features', featureSize: 1 },
  model: {
    cell: 'lstm',
    hidden: 32,
    embedding: 16,
    ...(args['conv-width'] === '0'
      ? {}
      : {
          conv: {
            kernelWidth: positiveNumber('conv-width', args['conv-width'], '4'),
            dilation: positiveNumber('conv-dilation', args['conv-dilation'], '1'),
            channels: positiveNumber('conv-channels', args['conv-channels'], '16'),
            activation: args['conv-activation'],
          },
        }),
  },
  tbptt: { k1: 8, k2: 24, maxKeys: 8 },
  optimizer: { learningRate: 0.005 },
  seed: Number(args.seed),
};
writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
const started = Date.now();
execFileSync(
  process.execPath,
  [
    args.cli,
    'run',
    '--embedded',
    '--config',
    path.join(dir, 'config.json'),
    '--input',
    input,
    '--output',
    path.join(dir, 'predictions.jsonl'),
    '--summary',
    path.join(dir, 'summary.json'),
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const seconds = (Date.now() - started) / 1000;

const scores = new ForecastScores({ horizon });
for (const line of readFileSync(path.join(dir, 'predictions.jsonl'), 'utf8').split('\n')) {
  if (line === '') continue;
  const p = JSON.parse(line) as {
    key: string;
    forecast: number[];
    forecasts?: number[][];
    actual: Array<number | null>;
    eos?: boolean;
  };
  scores.observe({
    key: p.key,
    forecasts: p.forecasts ?? [p.forecast],
    actual: p.actual.map((x) => x ?? NaN),
    eos: p.eos ?? false,
  });
}
const perHorizon = scores.perHorizon();
const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as object;
const result = {
  dataset: args.dataset,
  label: args.label,
  cli: path.relative(ROOT, args.cli) || args.cli,
  events: lines.length,
  horizon,
  config,
  seconds,
  perHorizon,
  summary,
};
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  path.join(ROOT, 'bench', 'results', `forecast-vega-${args.dataset}-${args.label}.json`),
  JSON.stringify(result, null, 2) + '\n',
);
const f = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : String(x));
console.log(`${args.dataset} (${args.label}): ${lines.length} events, ${seconds.toFixed(0)} s`);
console.log('h | MSE | MAE | MASE | rel. MSE | last-value MSE / MAE | running-mean MSE / MAE');
for (const r of perHorizon)
  console.log(
    `${r.h} | ${f(r.mse)} | ${f(r.mae)} | ${f(r.mase)} | ${f(r.relativeMse)} | ${f(r.lastValueMse)} / ${f(r.lastValueMae)} | ${f(r.runningMeanMse)} / ${f(r.runningMeanMae)}`,
  );
