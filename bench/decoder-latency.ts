/**
 * Request-to-result latency of the decoder service over the local broker (BENCHMARKS.md):
 *
 *   npm run build
 *   KAFKA_BROKERS=127.0.0.1:9092 node dist/bench/decoder-latency.js [--seconds 10]
 *       [--rate 50] [--long-tokens 200] [--max-rate 1600] [--out bench/results/decoder-latency.json]
 *
 * One decoder runs as a child process (`rnnstream decoder`), the load generator and the client in
 * this process; both share the two cores with the broker. For each of two decoder settings —
 * dynamic batching (maxBatchSize 32, maxWaitMs 5) and none (maxBatchSize 1, maxWaitMs 0), side by
 * side in one run — it measures:
 *   - next-token requests (max_tokens 1) at a steady --rate per second for --seconds: p50 / p99;
 *   - --long-tokens-token greedy generations at the same rate: p50 / p99;
 *   - the largest rate of next-token requests (from --rate / 2, doubling up to --max-rate,
 *     --seconds each, until two rates in a row miss) whose p99 stays under 100 ms, and the results
 *     per second it delivered.
 * Before measuring, each decoder gets 3 seconds of the steady load, not counted (group join,
 * producers fenced, TensorFlow's first calls for each batch size).
 * Latency is the client's: from sending a request to reading its committed final result.
 * Prints a table and writes the JSON results.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createDecoderClient, type DecoderClient } from '../shared/decoder-client/index.js';
import { createLogger } from '../shared/logging/index.js';
import {
  createKafkaClient,
  ensureTopics,
  withKafkaAdmin,
} from '../shared/transport/kafka/index.js';

import { benchArgs, positiveNumber } from './bench-args.js';
import { benchBrokers } from './bench-broker.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'rnnstream.js');
const args = benchArgs({
  seconds: '10',
  rate: '50',
  'long-tokens': '200',
  'max-rate': '1600',
  partitions: '4',
  out: path.join(ROOT, 'bench', 'results', 'decoder-latency.json'),
});
const seconds = positiveNumber('seconds', args.seconds, '10');
const rate = positiveNumber('rate', args.rate, '50');
const longTokens = positiveNumber('long-tokens', args['long-tokens'], '200');
const maxRate = positiveNumber('max-rate', args['max-rate'], '1600');
const partitions = positiveNumber('partitions', args.partitions, '4');
const logger = createLogger({
  name: 'bench-decoder',
  level: process.env.RNNSTREAM_LOG_LEVEL ?? 'warn',
});
const say = (text: string) => process.stderr.write(`[decoder-latency] ${text}\n`);

interface Measured {
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly resultsPerSecond: number;
  readonly meanBatchSize: number;
}

const MODEL = { model: { cell: 'lstm', hidden: 128, embedding: 32 }, tbptt: { k1: 16, k2: 32 } };
const SETTINGS = [
  { name: 'dynamic batching (32, 5 ms)', maxBatchSize: 32, maxWaitMs: 5 },
  { name: 'no batching (1, 0 ms)', maxBatchSize: 1, maxWaitMs: 0 },
] as const;

const broker = await benchBrokers(say);
const kafka = createKafkaClient({ clientId: 'bench-decoder', brokers: broker.list, logger });
const report: Record<string, unknown> = { seconds, rate, longTokens, settings: [] };
try {
  for (const setting of SETTINGS) {
    const app = `bench-decoder-${Date.now()}-${setting.maxBatchSize}`;
    await withKafkaAdmin({ client: kafka }, (admin) =>
      ensureTopics({ admin, app, partitions, replicationFactor: 1 }),
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-decoder-'));
    const configPath = path.join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        app,
        ...MODEL,
        decoder: {
          maxBatchSize: setting.maxBatchSize,
          maxWaitMs: setting.maxWaitMs,
          maxTokens: Math.max(4096, longTokens),
        },
      }),
    );
    const decoder = spawnDecoder(configPath, broker.list);
    const client = await createDecoderClient({ client: kafka, app });
    try {
      say(`${setting.name}: waiting for the decoder`);
      await warmUp(client);
      await steady(client, { rate, maxTokens: 1, seconds: 3 });
      const nextToken = await steady(client, { rate, maxTokens: 1 });
      say(
        `${setting.name}: next-token p50 ${nextToken.p50Ms.toFixed(1)} ms, p99 ${nextToken.p99Ms.toFixed(1)} ms`,
      );
      const long = await steady(client, { rate, maxTokens: longTokens });
      say(
        `${setting.name}: ${longTokens} tokens p50 ${long.p50Ms.toFixed(1)} ms, p99 ${long.p99Ms.toFixed(1)} ms`,
      );
      let held: (Measured & { rate: number }) | undefined;
      const ramp: Array<Measured & { rate: number }> = [];
      let missed = 0;
      for (let r = rate / 2; r <= maxRate && missed < 2; r *= 2) {
        const m = await steady(client, { rate: r, maxTokens: 1 });
        ramp.push({ ...m, rate: r });
        say(
          `${setting.name}: ${r}/s next-token p99 ${m.p99Ms.toFixed(1)} ms (${m.resultsPerSecond.toFixed(0)} results/s, batch ${m.meanBatchSize.toFixed(1)})`,
        );
        if (m.p99Ms < 100 && m.errors === 0) {
          held = { ...m, rate: r };
          missed = 0;
        } else missed++;
      }
      (report.settings as unknown[]).push({ ...setting, nextToken, long, held, ramp });
    } finally {
      await client.close();
      decoder.kill('SIGTERM');
      await new Promise((resolve) => decoder.once('exit', resolve));
    }
  }
} finally {
  await broker.stop();
}

const rows = report.settings as Array<{
  name: string;
  nextToken: Measured;
  long: Measured;
  held: (Measured & { rate: number }) | undefined;
}>;
const ms = (x: number) => x.toFixed(1);
const latency = (m: Measured) =>
  `${ms(m.p50Ms)} / ${ms(m.p99Ms)}${m.errors > 0 ? ` (${m.errors} of ${m.requests} failed or timed out)` : ''}`;
console.log(
  `\n| decoder | next-token p50 / p99 ms @${rate}/s | ${longTokens}-token p50 / p99 ms @${rate}/s | largest rate with p99 < 100 ms | results/s there | mean batch |`,
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.name} | ${latency(r.nextToken)} | ${latency(r.long)} | ${r.held ? `${r.held.rate}/s` : `< ${rate}/s`} | ${r.held ? r.held.resultsPerSecond.toFixed(0) : '-'} | ${r.held ? r.held.meanBatchSize.toFixed(1) : '-'} |`,
  );
const [batched, single] = rows;
if (batched?.held && single?.held)
  console.log(
    `\nbatched / unbatched sustained rate: ${(batched.held.rate / single.held.rate).toFixed(2)}x`,
  );
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), ...report }, null, 2));
say(`wrote ${args.out}`);

function spawnDecoder(configPath: string, brokers: readonly string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'decoder',
      '--config',
      configPath,
      '--brokers',
      brokers.join(','),
      '--params-wait-ms',
      '0',
      '--progress-seconds',
      '0',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, RNNSTREAM_LOG_LEVEL: 'warn' },
    },
  );
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') say(`decoder exited with ${code ?? signal}`);
  });
  return child;
}

/** Until the decoder answers (group joined, state view restored, model warm). */
async function warmUp(client: DecoderClient): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await client.request(
      { promptText: 'warm up', maxTokens: 4, ask: { kind: 'greedy' } },
      { timeoutInMs: 120_000 },
    );
  }
}

/** Requests at a steady `rate` for `seconds`; latency from send to final result. */
async function steady(
  client: DecoderClient,
  {
    rate: perSecond,
    maxTokens,
    seconds: duration = seconds,
  }: { rate: number; maxTokens: number; seconds?: number },
): Promise<Measured> {
  const latencies: number[] = [];
  const batchSizes: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const count = Math.round(perSecond * duration);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    pending.push(
      client
        .request(
          { promptTokens: [97 + (i % 26)], maxTokens, ask: { kind: 'greedy' } },
          { timeoutInMs: 60_000 },
        )
        .then((result) => {
          latencies.push(performance.now() - sent);
          if (result.error) errors++;
          batchSizes.push(result.timings?.batchSize ?? 0);
        })
        .catch(() => void errors++),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: count,
    errors,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    resultsPerSecond: latencies.length / elapsed,
    meanBatchSize: batchSizes.reduce((a, b) => a + b, 0) / Math.max(1, batchSizes.length),
  };
}
