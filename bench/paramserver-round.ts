/**
 * Parameter-service rounds over a real broker (BENCHMARKS.md, "Parameter service rounds").
 *
 *   npm run build
 *   node dist/bench/paramserver-round.js [--brokers host:port] [--workers 4] [--rounds 20]
 *        [--warmup 2] [--hidden 1024] [--embedding 256]
 *        [--variants float32,bfloat16,float32-nockpt,float32-glibcdefault,float32-gcdefault]
 *        [--out bench/results/paramserver-round.json] [--server-node-args='--cpu-prof --cpu-prof-dir DIR']
 *
 * Per variant: a fresh app (topics, deleted at its end), `rnnstream paramserver` as a child process (sync mode,
 * minWorkers = --workers, --init from a random parameter file, a checkpoint directory unless the
 * variant says `nockpt`; glibc malloc tuned as README recommends (PARAMSERVER_MALLOC_ENV) unless
 * it says `glibcdefault`; node started with PARAMSERVER_NODE_FLAGS unless it says `gcdefault`),
 * and --workers simulated workers in this process, each with its own
 * Kafka producer. A round: every worker waits for version v on the params topic, then sends a
 * gradient computed "on v" (fixed random tensors, re-encoded with the new version and step);
 * the server closes the round when all reported, applies Adam, checkpoints and publishes v + 1.
 *
 * Measured per round: the cycle (version v seen by the workers → v + 1 seen), the server's own
 * round time (update, checkpoint + publish; from its progress line), bytes in (all gradient
 * chunks of the round) and out (the version's chunks), CPU seconds per round of this process
 * (the workers), the server and the broker (if local). Updates per second = 1 / mean cycle.
 * Brokers: --brokers, else $KAFKA_BROKERS, else a local broker (scripts/kafka/local-broker.mjs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { benchArgs, positiveNumber } from './bench-args.js';
import {
  PARAMSERVER_MALLOC_ENV,
  PARAMSERVER_NODE_FLAGS,
} from '../services/paramserver/process-tuning.js';
import type { TensorDType } from '../shared/codec/tensor-codec.js';
import { modelSpecFromConfig, parseConfig } from '../shared/config/index.js';
import { selectBackend } from '../shared/engine/select-backend.js';
import { createLogger } from '../shared/logging/index.js';
import { checkpointSlotPaths } from '../shared/paramserver/index.js';
import {
  DEFAULT_MODEL_ID,
  followParams,
  gradientMessageRecords,
  paramRecords,
} from '../shared/paramserver-client/index.js';
import {
  closeKafkaAdmin,
  createKafkaBus,
  createKafkaClient,
  deleteTopics,
  ensureTopics,
  openKafkaAdmin,
} from '../shared/transport/kafka/index.js';
import { randomTensors } from '../test/support/paramserver/gradients.js';
import {
  lstmParameterShapes,
  writeRandomInitFile,
} from '../test/support/paramserver/large-model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'rnnstream.js');

interface Options {
  brokers: string | undefined;
  workers: number;
  rounds: number;
  warmup: number;
  hidden: number;
  embedding: number;
  variants: string[];
  out: string;
  /** Node options for the paramserver child, e.g. '--cpu-prof --cpu-prof-dir /tmp/prof'. */
  serverNodeArgs: string[];
}

function parseOptions(): Options {
  const args = benchArgs({
    brokers: process.env.KAFKA_BROKERS,
    workers: '4',
    rounds: '20',
    warmup: '2',
    hidden: '1024',
    embedding: '256',
    variants: 'float32,bfloat16,float32-nockpt,float32-glibcdefault,float32-gcdefault',
    out: path.join(ROOT, 'bench', 'results', 'paramserver-round.json'),
    'server-node-args': '',
  });
  return {
    brokers: args.brokers,
    workers: positiveNumber('workers', args.workers, '4'),
    rounds: positiveNumber('rounds', args.rounds, '20'),
    warmup: Number(args.warmup),
    hidden: positiveNumber('hidden', args.hidden, '1024'),
    embedding: positiveNumber('embedding', args.embedding, '256'),
    variants: args.variants.split(','),
    out: args.out,
    serverNodeArgs: args['server-node-args'].split(' ').filter((a) => a !== ''),
  };
}

interface RoundSample {
  cycleMs: number;
  /** From the workers' first send to the last one acknowledged. */
  sendMs: number;
  serverRoundMs: number;
  updateMs: number;
  persistMs: number;
  gradientBytes: number;
}

interface VariantResult {
  variant: string;
  encoding: TensorDType;
  checkpoint: boolean;
  /** The child ran with PARAMSERVER_MALLOC_ENV. */
  mallocTuned: boolean;
  /** The child ran with PARAMSERVER_NODE_FLAGS (single-threaded GC). */
  gcTuned: boolean;
  parameters: number;
  workers: number;
  rounds: number;
  gradientBytesPerUpdate: number;
  paramBytesPerUpdate: number;
  checkpointBytes: number;
  cycleMs: Stats;
  sendMs: Stats;
  serverRoundMs: Stats;
  updateMs: Stats;
  persistMs: Stats;
  updatesPerSecond: number;
  /** CPU seconds per timed round, by process (Linux /proc; undefined elsewhere). */
  cpuSecondsPerRound: {
    workers: number;
    paramserver: number | undefined;
    broker: number | undefined;
  };
  loadAverage: number[];
}

/** user + system CPU seconds of a process from /proc/<pid>/stat, or undefined if unreadable. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) : utime is the 14th field, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** The broker's JVM if it runs on this machine (main class kafka.Kafka), to count its CPU. */
function findBrokerPid(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('kafka.Kafka')) return Number(entry);
    } catch {
      // the process ended meanwhile
    }
  }
  return undefined;
}

interface Stats {
  mean: number;
  p50: number;
  p90: number;
  max: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p50: at(0.5),
    p90: at(0.9),
    max: sorted[sorted.length - 1]!,
  };
}

async function runVariant(
  variant: string,
  options: Options,
  brokers: string,
): Promise<VariantResult> {
  const encoding = (variant.split('-')[0] ?? 'float32') as TensorDType;
  const checkpoint = !variant.includes('nockpt');
  const mallocTuned = !variant.includes('glibcdefault');
  const gcTuned = !variant.includes('gcdefault');
  const app = `bench-ps-${variant}-${Date.now()}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rnnstream-bench-ps-'));
  const raw = {
    app,
    model: { cell: 'lstm', hidden: options.hidden, embedding: options.embedding },
    paramserver: {
      mode: 'sync',
      minWorkers: options.workers,
      roundDeadlineMs: 60_000,
      progressEveryRounds: 1,
      gradientEncoding: encoding,
    },
  };
  const config = parseConfig(raw, { source: 'bench' });
  const spec = modelSpecFromConfig(config);
  const shapes = lstmParameterShapes(spec);
  const parameters = [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  await writeFile(path.join(dir, 'cfg.json'), JSON.stringify(raw));
  const initPath = await writeRandomInitFile(dir, spec);
  const logger = createLogger({ name: 'bench', level: 'warn' });
  const client = createKafkaClient({ clientId: 'bench-ps', brokers, logger });
  const admin = await openKafkaAdmin({ client });
  const { names } = await ensureTopics({
    admin,
    app,
    partitions: options.workers,
    replicationFactor: 1,
  });

  const args = [
    ...(gcTuned ? PARAMSERVER_NODE_FLAGS : []),
    ...options.serverNodeArgs,
    CLI,
    'paramserver',
    '--config',
    path.join(dir, 'cfg.json'),
    '--brokers',
    brokers,
    '--init',
    initPath,
    ...(checkpoint ? ['--checkpoint-dir', path.join(dir, 'checkpoint')] : []),
  ];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      ...(mallocTuned ? PARAMSERVER_MALLOC_ENV : {}),
      RNNSTREAM_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its logs are on stderr (read below); its stdout (the summary, --trace-gc) goes to our stderr.
  child.stdout.pipe(process.stderr);
  const serverRounds: Array<{ roundMs: number; updateMs: number; persistMs: number }> = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    let newline;
    while ((newline = stderr.indexOf('\n')) >= 0) {
      const line = stderr.slice(0, newline);
      stderr = stderr.slice(newline + 1);
      if (!line.includes('"roundMs"')) continue;
      const { roundMs, updateMs, persistMs } = JSON.parse(line) as Record<string, number>;
      serverRounds.push({ roundMs: roundMs!, updateMs: updateMs!, persistMs: persistMs! });
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

  const follower = followParams({ client, app });
  const workers = Array.from({ length: options.workers }, (_, w) => ({
    id: `bench-worker-${w}`,
    bus: createKafkaBus({ client, groupId: `${app}.worker-${w}` }),
    tensors: randomTensors(w + 1, shapes, 0.01),
  }));
  const samples: RoundSample[] = [];
  const brokerPid = findBrokerPid();
  const cpuNow = () => ({
    workers: process.cpuUsage(),
    paramserver: processCpuSeconds(child.pid),
    broker: processCpuSeconds(brokerPid),
  });
  let cpuAtTimedStart: ReturnType<typeof cpuNow> | undefined;
  let cpuPerRound: VariantResult['cpuSecondsPerRound'] | undefined;
  let paramBytes = 0;
  let checkpointBytes = 0;
  try {
    let seen = await follower.waitForVersion({ minVersion: 0, timeoutMs: 180_000 });
    let seenAt = performance.now();
    const total = options.warmup + options.rounds;
    for (let round = 0; round < total; round++) {
      if (round === options.warmup) cpuAtTimedStart = cpuNow();
      const sendStarted = performance.now();
      const sizes = await Promise.all(
        workers.map(async (worker) => {
          const records = gradientMessageRecords({
            message: {
              workerId: worker.id,
              step: round + 1,
              paramVersion: seen.version,
              tokens: 2_048,
              lossSum: 2_048 * 5.5,
              tensors: worker.tensors,
            },
            encoding,
          });
          await worker.bus.producer().send({ topic: names.gradients, messages: records });
          return records.reduce((n, r) => n + r.value!.length, 0);
        }),
      );
      const sent = performance.now();
      const next = await follower.waitForVersion({
        minVersion: seen.version + 1,
        timeoutMs: 120_000,
      });
      const now = performance.now();
      if (round >= options.warmup) {
        const server = serverRounds[round];
        samples.push({
          cycleMs: now - seenAt,
          sendMs: sent - sendStarted,
          serverRoundMs: server?.roundMs ?? Number.NaN,
          updateMs: server?.updateMs ?? Number.NaN,
          persistMs: server?.persistMs ?? Number.NaN,
          gradientBytes: sizes.reduce((a, b) => a + b, 0),
        });
      }
      process.stderr.write(
        `${variant}: round ${round + 1}/${total}: cycle ${(now - seenAt).toFixed(0)} ms (sends ${(sent - sendStarted).toFixed(0)}, server ${serverRounds[round]?.roundMs ?? '-'})\n`,
      );
      seen = next;
      seenAt = now;
    }
    const cpuAtEnd = cpuNow();
    const perRound = (end: number | undefined, start: number | undefined) =>
      end === undefined || start === undefined ? undefined : (end - start) / options.rounds;
    if (cpuAtTimedStart) {
      const { user, system } = process.cpuUsage(cpuAtTimedStart.workers);
      cpuPerRound = {
        workers: (user + system) / 1e6 / options.rounds,
        paramserver: perRound(cpuAtEnd.paramserver, cpuAtTimedStart.paramserver),
        broker: perRound(cpuAtEnd.broker, cpuAtTimedStart.broker),
      };
    }
    // What one version weighs on the topic: its chunk records (float32 and framing).
    paramBytes = paramRecords({
      modelId: DEFAULT_MODEL_ID,
      version: seen.version,
      tensors: seen.tensors,
    }).reduce((n, r) => n + r.value!.length, 0);
    if (checkpoint)
      for (const slot of checkpointSlotPaths(path.join(dir, 'checkpoint'), DEFAULT_MODEL_ID))
        checkpointBytes = Math.max(checkpointBytes, (await stat(slot)).size);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await follower.stop();
    await Promise.all(workers.map((w) => w.bus.disconnect()));
    // ~2 GB of gradients per variant: a long-lived broker should not keep them (nor compact the
    // params topic of a finished run).
    await deleteTopics({ admin, brokers: client.brokers, topics: Object.values(names) }).catch(
      (error: unknown) => process.stderr.write(`topics of ${app} not deleted: ${String(error)}\n`),
    );
    await closeKafkaAdmin(admin);
    await rm(dir, { recursive: true, force: true });
  }
  const cycle = stats(samples.map((s) => s.cycleMs));
  return {
    variant,
    encoding,
    checkpoint,
    mallocTuned,
    gcTuned,
    parameters,
    workers: options.workers,
    rounds: samples.length,
    gradientBytesPerUpdate: samples[0]!.gradientBytes,
    paramBytesPerUpdate: paramBytes,
    checkpointBytes,
    cycleMs: cycle,
    sendMs: stats(samples.map((s) => s.sendMs)),
    serverRoundMs: stats(samples.map((s) => s.serverRoundMs)),
    updateMs: stats(samples.map((s) => s.updateMs)),
    persistMs: stats(samples.map((s) => s.persistMs)),
    updatesPerSecond: 1_000 / cycle.mean,
    cpuSecondsPerRound: cpuPerRound ?? {
      workers: Number.NaN,
      paramserver: undefined,
      broker: undefined,
    },
    loadAverage: os.loadavg(),
  };
}

async function startBrokerIfNeeded(
  options: Options,
): Promise<{ brokers: string; stop(): Promise<void> }> {
  if (options.brokers) return { brokers: options.brokers, stop: async () => {} };
  const url = pathToFileURL(path.join(ROOT, 'scripts', 'kafka', 'local-broker.mjs')).href;
  const { startLocalBroker } = (await import(url)) as {
    startLocalBroker(o: { log?: (m: string) => void }): Promise<{
      brokers: string;
      stop(): Promise<void>;
    }>;
  };
  return startLocalBroker({ log: (m) => process.stderr.write(`[kafka] ${m}\n`) });
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const cpu = (seconds: number | undefined) =>
  seconds === undefined || !Number.isFinite(seconds) ? '-' : seconds.toFixed(2);
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');

async function main(): Promise<void> {
  const options = parseOptions();
  await selectBackend({ requested: 'auto', logger: { info: () => {}, warn: () => {} } });
  const broker = await startBrokerIfNeeded(options);
  const results: VariantResult[] = [];
  try {
    for (const variant of options.variants)
      results.push(await runVariant(variant, options, broker.brokers));
  } finally {
    await broker.stop();
  }
  const header =
    '| gradients | checkpoint | paramserver malloc, GC | params | workers | grad MB in / update | param MB out / update | server round ms p50 (update + persist) | p90 | cycle ms p50 | p90 | updates/s | CPU s / round: workers, server, broker |';
  const lines = [
    header,
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.map(
      (r) =>
        `| ${r.encoding} | ${r.checkpoint ? `yes (${mb(r.checkpointBytes)} MB)` : 'no'} | ${r.mallocTuned ? 'tuned' : 'glibc default'}, ${r.gcTuned ? 'single-threaded' : 'V8 default'} | ${(r.parameters / 1e6).toFixed(2)} M | ${r.workers} | ${mb(r.gradientBytesPerUpdate)} | ${mb(r.paramBytesPerUpdate)} | ${ms(r.serverRoundMs.p50)} (${ms(r.updateMs.p50)} + ${ms(r.persistMs.p50)}) | ${ms(r.serverRoundMs.p90)} | ${ms(r.cycleMs.p50)} | ${ms(r.cycleMs.p90)} | ${r.updatesPerSecond.toFixed(2)} | ${cpu(r.cpuSecondsPerRound.workers)}, ${cpu(r.cpuSecondsPerRound.paramserver)}, ${cpu(r.cpuSecondsPerRound.broker)} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(path.dirname(options.out), { recursive: true });
  writeFileSync(
    options.out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
        options: { ...options, brokers: undefined },
        results,
      },
      null,
      2,
    ) + '\n',
  );
  process.stderr.write(`results: ${options.out}\n`);
}

await main();
