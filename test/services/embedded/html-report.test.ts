import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import type { RunSummary } from '../../../services/embedded/prequential-summary.js';
import { interleave, tempDir } from '../../support/run-helpers.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH overrides. */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => path !== undefined && existsSync(path),
);
const NO_CHROMIUM = CHROMIUM
  ? false
  : 'no headless Chromium at /usr/bin/chromium (apt-get install -y chromium, or set CHROMIUM_PATH)';

let browser: Promise<Browser> | undefined;
/** One headless Chromium for the file's tests (starting one takes seconds). */
function chromiumBrowser(): Promise<Browser> {
  browser ??= chromium.launch({ executablePath: CHROMIUM as string });
  return browser;
}
after(async () => {
  await (await browser)?.close();
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `run --embedded --report` on the events; returns the summary it printed and the page. */
async function reportOf(name: string, config: object, events: object[]) {
  const dir = await tempDir(`report-${name}`);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  await writeFile(
    join(dir, 'events.jsonl'),
    events.map((e) => JSON.stringify(e)).join('\n') + '\n',
  );
  const report = join(dir, 'report.html');
  const { code, stdout, stderr } = await runCli([
    'run',
    '--embedded',
    '--config',
    join(dir, 'config.json'),
    '--input',
    join(dir, 'events.jsonl'),
    '--progress-seconds',
    '0',
    '--report',
    report,
  ]);
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Summary;
  return { summary, report, html: await readFile(report, 'utf8') };
}

interface Summary {
  events: number;
  seconds: number;
  tokensPerSecond: number;
  metrics: Record<string, unknown> & {
    perClass?: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  };
  recent: Record<string, number>;
  baselines: Record<string, number>;
}

interface PlottedPage {
  errors: string[];
  requests: string[];
  learningCurve: Array<Array<number | null>>;
  throughput: Array<Array<number | null>>;
  island: {
    history: {
      learningCurve: Array<{ events: number }>;
      throughput: Array<{ seconds: number; events: number }>;
    };
  };
  tables: Record<string, string[][]>;
  /** typeof window.injected: what a script smuggled into the page would set. */
  injected: string;
}

/** Opens the page offline in headless Chromium and reads back what the charts plot. */
async function openInChromium(report: string): Promise<PlottedPage> {
  const page = await (await chromiumBrowser()).newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
  await page.waitForFunction('window.rnnstreamReport !== undefined', undefined, {
    timeout: 10_000,
  });
  const read = await page.evaluate(`(() => {
    const report = window.rnnstreamReport;
    const tables = {};
    for (const table of document.querySelectorAll('table[id]'))
      tables[table.id] = [...table.querySelectorAll('tbody tr')].map((tr) =>
        [...tr.children].map((cell) => cell.textContent));
    return {
      learningCurve: report.charts.learningCurve.data.map((s) => [...s]),
      throughput: report.charts.throughput.data.map((s) => [...s]),
      island: JSON.parse(document.getElementById('report-data').textContent),
      tables,
      svgOrCanvas: document.querySelectorAll('#learning-curve canvas, #throughput canvas').length,
      injected: typeof window.injected,
    };
  })()`);
  await page.close();
  const plotted = read as Omit<PlottedPage, 'errors' | 'requests'> & { svgOrCanvas: number };
  assert.equal(plotted.svgOrCanvas, 2, 'both charts drew a canvas');
  return { ...plotted, errors, requests };
}

test(
  'lm: the report plots bits per token over the stream against log2(vocabulary), ending on the summary',
  { skip: NO_CHROMIUM },
  async () => {
    const perKey = Array.from({ length: 4 }, (_, k) =>
      Array.from({ length: 250 }, (_, t) => ({ key: `doc${k}`, token: (t * (k + 1)) % 16 })),
    );
    const { summary, report, html } = await reportOf(
      'lm',
      {
        input: { tokenizer: 'ids', vocabSize: 16 },
        model: { cell: 'gru', hidden: 8, embedding: 4 },
        tbptt: { k1: 4, k2: 4 },
      },
      interleave(perKey),
    );
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/, 'no script or style to fetch');
    const page = await openInChromium(report);
    assert.deepEqual(page.errors, [], 'no console errors');
    assert.deepEqual(page.requests, [pathToFileURL(report).href], 'no request but the page');

    const [events, value, recent, baseline] = page.learningCurve;
    const points = page.island.history.learningCurve.length;
    assert.ok(points > 100, `${points} points on the curve`);
    for (const series of [events, value, recent, baseline]) assert.equal(series!.length, points);
    assert.equal(events!.at(-1), summary.events, 'the curve reaches the end of the stream');
    assert.equal(value!.at(-1), summary.metrics.bitsPerToken, 'and ends on the summary');
    assert.equal(recent!.at(-1), summary.recent.bitsPerToken);
    for (const b of baseline!)
      assert.equal(b, Math.log2(16), 'uniform baseline: log2(16) = 4 bits');
    for (let i = 1; i < points; i++) assert.ok(events![i]! > events![i - 1]!, 'events increase');

    const [seconds, rate, mean] = page.throughput;
    const history = page.island.history.throughput;
    assert.equal(seconds!.at(-1), summary.seconds);
    history.forEach((p, i) => {
      const before = i === 0 ? { seconds: 0, events: 0 } : history[i - 1]!;
      const expected =
        p.seconds > before.seconds
          ? (p.events - before.events) / (p.seconds - before.seconds)
          : null;
      assert.equal(rate![i], expected, `events/s of throughput point ${i}`);
      assert.equal(mean![i], summary.tokensPerSecond);
    });
    // The figures table: the summary's metric (4 significant digits) beside log2(16) = 4.
    const [name, model, uniform] = page.tables.figures![0]!;
    assert.equal(name, 'bitsPerToken');
    assert.equal(Number(model), Number((summary.metrics.bitsPerToken as number).toPrecision(4)));
    assert.equal(uniform, '4');
  },
);

test(
  'classify: the report plots accuracy against the majority class and lists every class of the summary',
  { skip: NO_CHROMIUM },
  async () => {
    const events = Array.from({ length: 360 }, (_, i) => {
      const sequence = Math.floor(i / 3);
      const label = ['spam', 'ham', 'ham'][sequence % 3]!;
      return {
        key: `m${sequence % 6}`,
        token: (label === 'spam' ? 4 : 0) + (i % 3),
        ...(i % 3 === 2 ? { eos: true, label } : {}),
      };
    });
    const { summary, report } = await reportOf(
      'classify',
      {
        task: { type: 'classify' },
        input: { tokenizer: 'ids', vocabSize: 8 },
        model: { cell: 'gru', hidden: 8, embedding: 4 },
        tbptt: { k1: 3, k2: 3 },
      },
      events,
    );
    const page = await openInChromium(report);
    assert.deepEqual(page.errors, [], 'no console errors');
    const [, value, , baseline] = page.learningCurve;
    assert.equal(value!.at(-1), summary.metrics.accuracy);
    assert.equal(baseline!.at(-1), summary.baselines.accuracy);
    assert.equal(value![0], null, 'no accuracy before the first labelled event');
    // One row per class of the summary, most supported first, support as the summary says.
    const rows = page.tables['per-class']!;
    const perClass = summary.metrics.perClass!;
    assert.deepEqual(
      rows.map((r) => r[0]),
      Object.keys(perClass).sort((a, b) => perClass[b]!.support - perClass[a]!.support),
    );
    for (const row of rows) assert.equal(row[4], String(perClass[row[0]!]!.support));
    assert.equal(page.tables['per-horizon'], undefined, 'no per-horizon table for classify');
  },
);

/** A forecast run's summary and history as the run would hand them over (hand-made numbers). */
function forecastRun(perHorizon?: unknown) {
  const summary = {
    events: 3,
    keys: 1,
    skipped: 0,
    tokensPerSecond: 1.5,
    metrics: { mse: 0.25, ...(perHorizon === undefined ? {} : { perHorizon }) },
    recent: { mse: 0.25 },
    baselines: { mse: 0.5 },
    paramVersion: 2,
    seconds: 2,
    liveTensors: 0,
    rssMiB: 1,
  };
  const history = {
    metric: 'mse' as const,
    learningCurve: [
      { events: 1, seconds: 0.5, value: null, recent: null, baseline: null },
      { events: 2, seconds: 1, value: 0.5, recent: 0.5, baseline: 1 },
      { events: 3, seconds: 2, value: 0.25, recent: 0.25, baseline: 0.5 },
    ],
    throughput: [
      { seconds: 1, events: 2 },
      { seconds: 2, events: 3 },
    ],
  };
  // A hand-made summary: perHorizon as the caller gives it (the page must cope with any table).
  return { summary: summary as unknown as RunSummary, history };
}

async function pageOf(html: string): Promise<PlottedPage> {
  return openInChromium(await writeTemp(html));
}

test(
  'forecast: a per-horizon table when the summary has one, none when it has not',
  { skip: NO_CHROMIUM },
  async () => {
    const { renderHtmlReport } = await import('../../../services/embedded/html-report.js');
    // As prequential-summary writes it: one row per horizon step h.
    const perHorizon = [
      { h: 1, mse: 0.125, lastValueMse: 0.25 },
      { h: 2, mse: 0.375, lastValueMse: 0.75 },
    ];
    const withTable = await pageOf(
      renderHtmlReport({ title: 'forecast', ...forecastRun(perHorizon) }),
    );
    assert.deepEqual(withTable.errors, []);
    assert.deepEqual(withTable.tables['per-horizon'], [
      ['1', '0.1250', '0.2500'],
      ['2', '0.3750', '0.7500'],
    ]);
    // The hand-made throughput: 2 events in the first second, 1 in the next.
    assert.deepEqual(withTable.throughput[1], [2, 1]);
    assert.deepEqual(withTable.learningCurve[1], [null, 0.5, 0.25]);

    const without = await pageOf(renderHtmlReport({ title: 'forecast', ...forecastRun() }));
    assert.deepEqual(without.errors, []);
    assert.equal(without.tables['per-horizon'], undefined);
    assert.equal(without.tables['per-class'], undefined);
  },
);

test(
  'labels and titles that look like HTML are shown as text, never run',
  { skip: NO_CHROMIUM },
  async () => {
    const { renderHtmlReport } = await import('../../../services/embedded/html-report.js');
    const hostile = '</script><script>window.injected = 1</script><!--';
    const run = forecastRun({ [hostile]: { mse: 1 } });
    const page = await pageOf(renderHtmlReport({ title: hostile, ...run }));
    assert.deepEqual(page.errors, []);
    assert.deepEqual(page.tables['per-horizon'], [[hostile, '1']], 'the label reads as written');
    assert.equal(
      (page.island as unknown as { summary: typeof run.summary }).summary.metrics.mse,
      0.25,
      'the JSON island survived the label',
    );
    assert.equal(page.injected, 'undefined', 'no injected script ran');
  },
);

async function writeTemp(html: string): Promise<string> {
  const file = join(await tempDir('report-page'), 'report.html');
  await writeFile(file, html);
  return file;
}
