/**
 * Prometheus for tests: the `prometheus` and `promtool` binaries (Debian package `prometheus`,
 * installed by .ci/run), a real server scraping given targets with the repository's rule files,
 * and the PromQL expressions the repository ships (rules and dashboards).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse as parseYaml } from 'yaml';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const PROMETHEUS_DIR = join(REPO, 'deploy/prometheus');
export const RULE_FILES = readdirSync(join(PROMETHEUS_DIR, 'rules'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join(PROMETHEUS_DIR, 'rules', f));
const DASHBOARDS_DIR = join(REPO, 'deploy/grafana/dashboards');

/** Why the Prometheus tests cannot run here, or undefined when they can. */
export function prometheusMissing(): string | undefined {
  for (const binary of ['prometheus', 'promtool'])
    if (spawnSync(binary, ['--version']).error)
      return `${binary} is not installed (fix: apt-get install -y prometheus, as .ci/run does)`;
  return undefined;
}

export function promtool(args: readonly string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

export interface ShippedExpression {
  /** e.g. "rule rnnstream:prediction_mse:rate5m", "alert RnnstreamServiceDown", "dashboard learning.json: Bits per token". */
  readonly origin: string;
  readonly expr: string;
  readonly kind: 'record' | 'alert' | 'panel';
}

interface RuleGroupFile {
  groups: Array<{ rules: Array<{ record?: string; alert?: string; expr: string }> }>;
}

/** Every PromQL expression of the rule files and of the dashboards' panels. */
export function shippedExpressions(): ShippedExpression[] {
  const found: ShippedExpression[] = [];
  for (const file of RULE_FILES) {
    const { groups } = parseYaml(readFileSync(file, 'utf8')) as RuleGroupFile;
    for (const rule of groups.flatMap((g) => g.rules))
      found.push(
        rule.record !== undefined
          ? { origin: `rule ${rule.record}`, expr: rule.expr, kind: 'record' }
          : { origin: `alert ${rule.alert}`, expr: rule.expr, kind: 'alert' },
      );
  }
  if (existsSync(DASHBOARDS_DIR))
    for (const file of readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'))) {
      const visit = (node: unknown, title: string): void => {
        if (Array.isArray(node)) for (const item of node) visit(item, title);
        else if (node !== null && typeof node === 'object') {
          const record = node as Record<string, unknown>;
          const here = typeof record.title === 'string' ? record.title : title;
          if (typeof record.expr === 'string' && record.expr.trim() !== '')
            found.push({ origin: `dashboard ${file}: ${here}`, expr: record.expr, kind: 'panel' });
          for (const value of Object.values(record)) visit(value, here);
        }
      };
      visit(JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')), file);
    }
  return found;
}

const NOT_METRICS = new Set([
  ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset'],
  ...['and', 'or', 'unless', 'inf', 'nan'],
]);

/**
 * The metric (and recorded series) names an expression reads: identifiers that are not
 * functions (followed by "("), keywords, label lists (`by (le, task)`), label matchers
 * (`{job="x"}`), ranges (`[5m]`) or numbers.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\(|[a-zA-Z0-9_:])/g)) {
    const name = match[0];
    if (!NOT_METRICS.has(name.toLowerCase()) && !/^\d/.test(name)) names.add(name);
  }
  return [...names];
}

/**
 * The expression as the end-to-end test evaluates it: comparisons return 0/1 for every series
 * (`> bool`) instead of filtering, so an empty answer can only mean a series that does not exist;
 * `offset` is dropped (the services have run seconds, not the minutes an offset looks back), and
 * Grafana's interval variables become fixed ranges.
 */
export function evaluable(expr: string): string {
  return expr
    .replace(/(==|!=|>=|<=|>|<)(?!\s*bool\b)/g, '$1 bool')
    .replace(/\s+offset\s+\w+/g, '')
    .replace(/\$__rate_interval|\$__range|\$__interval/g, '1m');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrometheusServer {
  readonly url: string;
  query(expr: string): Promise<{ status: string; error?: string; result: unknown[] }>;
  stop(): Promise<void>;
}

/** A real Prometheus scraping `jobs` every second with the repository's rules. */
export async function startPrometheus(
  jobs: Record<string, readonly string[]>,
): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rnnstream-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: RULE_FILES,
    scrape_configs: Object.entries(jobs).map(([job, targets]) => ({
      job_name: job,
      static_configs: [{ targets }],
    })),
  };
  await writeFile(join(dir, 'prometheus.yml'), JSON.stringify(config)); // JSON is YAML
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`prometheus did not become ready; its log:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    async query(expr) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: unknown[] };
      };
      return {
        status: body.status,
        ...(body.error === undefined ? {} : { error: body.error }),
        result: body.data?.result ?? [],
      };
    },
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
