/**
 * Training throughput of rnnstream against a PyTorch anchor (BENCHMARKS.md).
 *
 *   npm run build
 *   node dist/bench/train-throughput.js [--seconds 20] [--hidden 256,512] [--cells lstm,gru,rnn]
 *        [--backends tensorflow,wasm,cpu] [--slow-seconds 1] [--batch 64] [--embedding 64]
 *        [--k1 32] [--k2 32] [--runner cli|direct] [--no-torch] [--torch-seconds S] [--torch-threads 2[,1]]
 *        [--out bench/results/train-throughput.json]
 *
 * For every cell × hidden × backend it runs one child process (backends are process-global in
 * TensorFlow.js), and `python3 bench/torch_train.py` for the same configuration once per
 * cell × hidden (per --torch-threads value; the first one is the anchor of the ratio). Ours runs through `node bin/rnnstream.js bench train ...` (runner `cli`, the
 * default when the CLI is built) or through this script's own child mode calling runTrainBench
 * (runner `direct`). The slow `cpu` and `wasm` backends run only the smallest --hidden (256), for
 * --slow-seconds after ONE warm-up step (direct runner: the CLI always warms up with 2 steps).
 * A backend that is not available here, or that fails, is recorded with its reason, never fatal.
 *
 * Prints a table on stdout and writes the JSON results to --out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'rnnstream.js');
const TORCH_SCRIPT = path.join(ROOT, 'bench', 'torch_train.py');
const SLOW_BACKENDS = new Set(['cpu', 'wasm']);
const EXIT_NO_TORCH = 3;

interface Config {
  cell: string;
  hidden: number;
  embedding: number;
  batch: number;
  k1: number;
  k2: number;
}

interface Measurement {
  tokensPerSecond: number;
  backend: string;
  steps?: number;
  seconds?: number;
  msPerStep?: number;
  parameters?: number;
  loss?: number;
}

type Outcome =
  | { status: 'ok'; result: Measurement; wallSeconds: number }
  | { status: 'unavailable' | 'failed' | 'skipped'; reason: string; wallSeconds: number };

interface Row extends Config {
  backend: string;
  runner: 'cli' | 'direct';
  seconds: number;
  warmupSteps: number;
  ours: Outcome;
  /** PyTorch at the first --torch-threads value: the anchor of `ratio`. */
  torch: Outcome;
  /** PyTorch at every --torch-threads value, by thread count. */
  torchByThreads: Record<string, Outcome>;
  ratio: number | null;
}

// ---------------------------------------------------------------- child mode (runner 'direct')

async function childMain(json: string): Promise<void> {
  const { runTrainBench } = await import('./train-bench.js');
  const quiet = { info: () => {}, warn: () => {} };
  try {
    const result = await runTrainBench({
      ...(JSON.parse(json) as Parameters<typeof runTrainBench>[0]),
      logger: quiet,
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).name}: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}

// ---------------------------------------------------------------- options

interface Options {
  seconds: number;
  slowSeconds: number;
  torchSeconds: number;
  torchThreads: number[];
  hidden: number[];
  cells: string[];
  backends: string[];
  batch: number;
  embedding: number;
  k1: number;
  k2: number;
  runner: 'cli' | 'direct' | 'auto';
  torch: boolean;
  out: string;
}

function usage(problem: string): never {
  process.stderr.write(
    `train-throughput: ${problem}\n(see the header of bench/train-throughput.ts for the options)\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    seconds: 20,
    slowSeconds: 1,
    torchSeconds: Number.NaN,
    torchThreads: [2],
    hidden: [256, 512],
    cells: ['lstm', 'gru', 'rnn'],
    backends: ['tensorflow', 'wasm', 'cpu'],
    batch: 64,
    embedding: 64,
    k1: 32,
    k2: 32,
    runner: 'auto',
    torch: true,
    out: path.join(ROOT, 'bench', 'results', 'train-throughput.json'),
  };
  const num = (flag: string, v: string | undefined, integer: boolean): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      usage(`${flag} '${v}' must be a ${integer ? 'positive integer' : 'number > 0'}`);
    return n;
  };
  const list = (flag: string, v: string | undefined, allowed?: readonly string[]): string[] => {
    const items = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) usage(`${flag} needs a comma-separated list`);
    const bad = allowed ? items.filter((i) => !allowed.includes(i)) : [];
    if (bad.length > 0) usage(`${flag}: unknown ${bad.join(', ')} (use ${allowed!.join(', ')})`);
    return items;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case '--seconds':
        o.seconds = num(flag, value(), false);
        break;
      case '--slow-seconds':
        o.slowSeconds = num(flag, value(), false);
        break;
      case '--torch-seconds':
        o.torchSeconds = num(flag, value(), false);
        break;
      case '--torch-threads':
        o.torchThreads = list(flag, value()).map((t) => num(flag, t, true));
        break;
      case '--hidden':
        o.hidden = list(flag, value()).map((h) => num(flag, h, true));
        break;
      case '--cells':
        o.cells = list(flag, value(), ['lstm', 'gru', 'rnn']);
        break;
      case '--backends':
        o.backends = list(flag, value(), ['tensorflow', 'wasm', 'cpu']);
        break;
      case '--batch':
        o.batch = num(flag, value(), true);
        break;
      case '--embedding':
        o.embedding = num(flag, value(), true);
        break;
      case '--k1':
        o.k1 = num(flag, value(), true);
        break;
      case '--k2':
        o.k2 = num(flag, value(), true);
        break;
      case '--runner': {
        const r = value();
        if (r !== 'cli' && r !== 'direct' && r !== 'auto')
          usage(`--runner '${r}' must be cli, direct or auto`);
        o.runner = r;
        break;
      }
      case '--no-torch':
        o.torch = false;
        break;
      case '--out':
        o.out = path.resolve(value() ?? usage('--out needs a file name'));
        break;
      default:
        usage(`unknown option '${flag}'`);
    }
  }
  if (o.k2 < o.k1) usage(`--k2 ${o.k2} is smaller than --k1 ${o.k1} (fix: --k2 >= --k1)`);
  if (Number.isNaN(o.torchSeconds)) o.torchSeconds = o.seconds;
  return o;
}

// ---------------------------------------------------------------- running children

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; wallSeconds: number }> {
  const env = { ...process.env };
  delete env['RNNSTREAM_BACKEND']; // it would override --backend in the child
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, wallSeconds: (performance.now() - start) / 1000 });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({
        code: -1,
        stdout,
        stderr: `${stderr}${err.message}\n`,
        wallSeconds: (performance.now() - start) / 1000,
      });
    });
  });
}

function lastJsonLine(stdout: string): Measurement | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const v = JSON.parse(line) as Measurement;
      if (typeof v.tokensPerSecond === 'number') return v;
    } catch {
      // not JSON: log output
    }
  }
  return undefined;
}

/** The most telling stderr line: the error message, without pino's JSON or stack frames. */
function reasonFrom(stderr: string, code: number | null): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at ') && !l.startsWith('{') && !l.startsWith('Node.js'));
  const error = [...lines]
    .reverse()
    .find((l) => /error|not available|not registered|rnnstream:/i.test(l));
  return (error ?? lines.at(-1) ?? `exit code ${code}`).slice(0, 400);
}

function cliAvailable(): boolean {
  if (!existsSync(path.join(ROOT, 'dist', 'services', 'cli', 'main.js'))) return false;
  const probe = spawnSync(process.execPath, [CLI, 'bench', 'train', '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return probe.status === 0 && probe.stdout.includes('--hidden');
}

function torchAvailable(): { ok: boolean; reason: string } {
  const probe = spawnSync(
    'python3',
    ['-c', 'import torch, sys; sys.stdout.write(torch.__version__)'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (probe.status === 0) return { ok: true, reason: `torch ${probe.stdout.trim()}` };
  if (probe.error) return { ok: false, reason: `python3 not found (${probe.error.message})` };
  return {
    ok: false,
    reason: 'PyTorch is not installed for python3 (fix: pip install torch; a CPU wheel is enough)',
  };
}

async function runOurs(
  config: Config,
  backend: string,
  seconds: number,
  runner: 'cli' | 'direct',
  warmupSteps: number,
): Promise<Outcome> {
  const timeoutMs = Math.max(600_000, seconds * 20_000);
  const { cell, hidden, embedding, batch, k1, k2 } = config;
  const args =
    runner === 'cli'
      ? [
          CLI,
          'bench',
          'train',
          '--cell',
          cell,
          '--hidden',
          `${hidden}`,
          '--embedding',
          `${embedding}`,
          '--batch',
          `${batch}`,
          '--k1',
          `${k1}`,
          '--k2',
          `${k2}`,
          '--seconds',
          `${seconds}`,
          '--backend',
          backend,
        ]
      : [
          fileURLToPath(import.meta.url),
          '--child',
          JSON.stringify({ ...config, seconds, backend, warmupSteps }),
        ];
  const r = await run(process.execPath, args, timeoutMs);
  const result = r.code === 0 ? lastJsonLine(r.stdout) : undefined;
  if (result) return { status: 'ok', result, wallSeconds: r.wallSeconds };
  const reason = reasonFrom(r.stderr, r.code);
  const unavailable = /is not available|BackendError/.test(reason);
  return { status: unavailable ? 'unavailable' : 'failed', reason, wallSeconds: r.wallSeconds };
}

async function runTorch(config: Config, seconds: number, threads: number): Promise<Outcome> {
  const { cell, hidden, embedding, batch, k1, k2 } = config;
  const args = [
    TORCH_SCRIPT,
    '--cell',
    cell,
    '--hidden',
    `${hidden}`,
    '--embedding',
    `${embedding}`,
    '--batch',
    `${batch}`,
    '--k1',
    `${k1}`,
    '--k2',
    `${k2}`,
    '--seconds',
    `${seconds}`,
    '--threads',
    `${threads}`,
  ];
  const r = await run('python3', args, Math.max(600_000, seconds * 20_000));
  const result = r.code === 0 ? lastJsonLine(r.stdout) : undefined;
  if (result) return { status: 'ok', result, wallSeconds: r.wallSeconds };
  return {
    status: r.code === EXIT_NO_TORCH ? 'skipped' : 'failed',
    reason: reasonFrom(r.stderr, r.code),
    wallSeconds: r.wallSeconds,
  };
}

// ---------------------------------------------------------------- table

function formatRate(o: Outcome): string {
  return o.status === 'ok'
    ? Math.round(o.result.tokensPerSecond).toLocaleString('en-US')
    : o.status;
}

export function formatTable(rows: readonly Row[], torchThreads: readonly number[]): string {
  const [anchor, ...extra] = torchThreads;
  const header = [
    'cell',
    'hidden',
    'backend',
    'ours tok/s',
    'ms/step',
    `torch tok/s (${anchor} thr)`,
    'ours/torch',
    ...extra.map((t) => `torch tok/s (${t} thr)`),
  ];
  const body = rows.map((r) => [
    r.cell,
    `${r.hidden}`,
    r.backend,
    formatRate(r.ours),
    r.ours.status === 'ok' && r.ours.result.msPerStep !== undefined
      ? r.ours.result.msPerStep.toFixed(0)
      : '',
    formatRate(r.torch),
    r.ratio === null ? '—' : r.ratio.toFixed(2),
    ...extra.map((t) => (r.torchByThreads[t] ? formatRate(r.torchByThreads[t]) : '')),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 3 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const loadAverageAtStart = os.loadavg();
  const log = (text: string) => process.stderr.write(`[train-throughput] ${text}\n`);
  const runner: 'cli' | 'direct' =
    options.runner === 'auto' ? (cliAvailable() ? 'cli' : 'direct') : options.runner;
  if (runner === 'cli' && !cliAvailable())
    usage(
      `--runner cli: '${CLI} bench train' is not available (fix: npm run build, or use --runner direct)`,
    );
  const torch = options.torch
    ? torchAvailable()
    : { ok: false, reason: 'disabled with --no-torch' };
  log(`runner ${runner}; PyTorch anchor: ${torch.ok ? torch.reason : `skipped — ${torch.reason}`}`);

  const rows: Row[] = [];
  const torchCache = new Map<string, Outcome>();
  const slowHidden = Math.min(...options.hidden);
  for (const cell of options.cells) {
    for (const hidden of options.hidden) {
      const config: Config = {
        cell,
        hidden,
        embedding: options.embedding,
        batch: options.batch,
        k1: options.k1,
        k2: options.k2,
      };
      for (const backend of options.backends) {
        const slow = SLOW_BACKENDS.has(backend);
        if (slow && hidden !== slowHidden) continue;
        // The CLI always warms up with 2 steps; on the slow backends one step costs tens of seconds.
        const rowRunner: 'cli' | 'direct' = slow ? 'direct' : runner;
        const seconds = slow ? options.slowSeconds : options.seconds;
        const warmupSteps = slow ? 1 : 2;
        log(`ours: ${cell} hidden ${hidden} on ${backend} (${seconds} s, runner ${rowRunner}) ...`);
        const ours = await runOurs(config, backend, seconds, rowRunner, warmupSteps);
        log(
          `  -> ${ours.status === 'ok' ? `${ours.result.tokensPerSecond.toFixed(0)} tok/s on ${ours.result.backend}` : `${ours.status}: ${ours.reason}`} (${ours.wallSeconds.toFixed(1)} s wall)`,
        );

        const torchByThreads: Record<string, Outcome> = {};
        for (const threads of options.torchThreads) {
          const key = `${cell}/${hidden}/${threads}`;
          let outcome = torchCache.get(key);
          if (!outcome) {
            if (!torch.ok) outcome = { status: 'skipped', reason: torch.reason, wallSeconds: 0 };
            else {
              log(
                `torch: ${cell} hidden ${hidden}, ${threads} thread(s) (${options.torchSeconds} s) ...`,
              );
              outcome = await runTorch(config, options.torchSeconds, threads);
              log(
                `  -> ${outcome.status === 'ok' ? `${outcome.result.tokensPerSecond.toFixed(0)} tok/s` : `${outcome.status}: ${outcome.reason}`}`,
              );
            }
            torchCache.set(key, outcome);
          }
          torchByThreads[threads] = outcome;
        }
        const torchOutcome = torchByThreads[options.torchThreads[0]!]!;
        const ratio =
          ours.status === 'ok' && torchOutcome.status === 'ok'
            ? ours.result.tokensPerSecond / torchOutcome.result.tokensPerSecond
            : null;
        rows.push({
          ...config,
          backend,
          runner: rowRunner,
          seconds,
          warmupSteps,
          ours,
          torch: torchOutcome,
          torchByThreads,
          ratio,
        });
      }
    }
  }

  const table = formatTable(rows, options.torchThreads);
  process.stdout.write(`${table}\n`);
  const problems = rows
    .filter((r) => r.ours.status !== 'ok')
    .map(
      (r) => `${r.cell} ${r.hidden} ${r.backend}: ${r.ours.status === 'ok' ? '' : r.ours.reason}`,
    );
  if (problems.length > 0)
    process.stdout.write(
      `\nnot measured:\n${[...new Set(problems)].map((p) => `  ${p}`).join('\n')}\n`,
    );

  mkdirSync(path.dirname(options.out), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg(),
    },
    settings: { ...options, runner, torch: torch.ok ? torch.reason : `skipped: ${torch.reason}` },
    rows,
  };
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(ROOT, options.out)}`);
}

if (process.argv[2] === '--child') await childMain(process.argv[3] ?? '{}');
else await main();
