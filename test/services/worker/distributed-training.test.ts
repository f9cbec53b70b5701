import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { produceEvents } from '../../../services/produce/index.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';
import {
  createAppTopics,
  predictionsOf,
  readTopicUntil,
  spawnWorker,
  writeConfig,
  type WorkerProcess,
} from '../../support/kafka/worker-harness.js';
import { tempDir } from '../../support/run-helpers.js';

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;
const children: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];

before(
  async () =>
    void ({ broker, client, admin } = await connectTestAdmin('distributed-training-test')),
  { timeout: 240_000 },
);
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await releaseTestAdmin({ broker, admin });
});

const CLI = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));
const KEYS = 12;
const TEXT =
  'it was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, ';

/** Every key reads the same text from its own offset, interleaved round-robin (a live stream). */
function* events(stepsPerKey: number): Generator<StreamEvent> {
  for (let i = 0; i < stepsPerKey; i++)
    for (let k = 0; k < KEYS; k++)
      yield { key: `doc-${k}`, token: TEXT[(i + 7 * k) % TEXT.length]!, eos: false };
}

/**
 * One training run: a paramserver and `workers` worker processes on a fresh app (one partition per
 * worker), all in lockstep, the stream produced at once (lockstep makes batch boundaries
 * irrelevant); returns the mean bits per char over each key's last third.
 */
async function trainingRun({
  workers,
  mode,
  partitions,
  keysPerStep = 64,
  stepsPerKey,
  learningRate,
}: {
  workers: number;
  mode: 'sync' | 'async';
  partitions: number;
  /** tbptt.maxKeys: the most keys one gradient covers. */
  keysPerStep?: number;
  /** Events per key in the stream. */
  stepsPerKey: number;
  /** Adam's learning rate. */
  learningRate: number;
}) {
  const app = uniqueTopicPrefix(`training ${workers} ${mode}`);
  const dir = await tempDir('distributed-training-');
  const configPath = await writeConfig(dir, {
    app,
    backend: 'cpu',
    model: { cell: 'lstm', hidden: 32, embedding: 16 },
    tbptt: { k1: 8, k2: 8, maxKeys: keysPerStep, maxWaitMs: 2000 },
    optimizer: { type: 'adam', learningRate },
    paramserver: { mode, staleness: 3, minWorkers: workers, roundDeadlineMs: 10_000 },
    seed: 5,
  });
  await createAppTopics({ admin, app, partitions });
  const paramserver = spawn(
    process.execPath,
    [
      CLI,
      'paramserver',
      '--config',
      configPath,
      '--brokers',
      broker.brokers.join(','),
      '--checkpoint-dir',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RNNSTREAM_LOG_LEVEL: 'info' } },
  );
  children.push(paramserver);
  let paramserverLog = '';
  paramserver.stderr!.on('data', (d: Buffer) => (paramserverLog += d.toString()));
  paramserver.stdout!.on('data', (d: Buffer) => (paramserverLog += d.toString()));
  const running: WorkerProcess[] = [];
  for (let w = 0; w < workers; w++) {
    const worker = spawnWorker({
      configPath,
      brokers: broker.brokers,
      args: [
        ...['--worker-id', `w${w}`, '--session-timeout-ms', '30000', '--max-batch-size', '200'],
        ...['--params-lockstep-ms', '20000'],
      ],
    });
    running.push(worker);
    children.push(worker.child);
  }
  for (const worker of running) await worker.waitForLog(/using the published parameters/);
  // Every worker owns a partition before the stream starts.
  for (const worker of running) await worker.waitForLog(/"partitions restored"/);
  const total = KEYS * stepsPerKey;
  await produceEvents({
    client,
    topic: topicNames(app).events,
    events: events(stepsPerKey),
    batchSize: 50,
  });
  const predictions = predictionsOf(
    await readTopicUntil({
      client,
      admin,
      topic: topicNames(app).predictions,
      done: (r) => r.length >= total,
      timeoutMs: 300_000,
      what: `${total} predictions`,
    }).catch(async (error: unknown) => {
      // Keep what the processes said: a stalled run is diagnosed from their logs.
      const logs = join(dir, 'logs.txt');
      await writeFile(
        logs,
        [`paramserver:\n${paramserverLog}`, ...running.map((w, i) => `w${i}:\n${w.stderr()}`)].join(
          '\n',
        ),
      );
      throw new Error(`${(error as Error).message}; process logs in ${logs}`);
    }),
  );
  for (const worker of running) worker.child.kill('SIGTERM');
  const summaries = await Promise.all(running.map((w) => w.summary));
  paramserver.kill('SIGTERM');
  await new Promise((resolve) => paramserver.once('exit', resolve));
  assert.equal(predictions.length, total);
  const byKey = new Map<string, number[]>();
  for (const p of [...predictions].sort((a, b) => a.index - b.index))
    byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.bits!]);
  let sum = 0;
  let n = 0;
  for (const bits of byKey.values())
    for (const b of bits.slice(Math.floor((2 * bits.length) / 3))) {
      sum += b;
      n++;
    }
  const finalVersion = Math.max(...predictions.map((p) => p.paramVersion));
  return { bitsPerChar: sum / n, finalVersion, summaries, paramserverLog };
}

/** Learning happened (uniform over bytes is 8 bits), the parameters moved on, every worker trained. */
function assertTrained(run: Awaited<ReturnType<typeof trainingRun>>, report: string): void {
  assert.ok(run.bitsPerChar < 5, report);
  assert.ok(run.finalVersion > 10, report);
  assert.ok(
    run.summaries.every((s) => Number(s.trainSteps) > 0),
    'every worker trained',
  );
}

function describeRuns(runs: Record<string, Awaited<ReturnType<typeof trainingRun>>>): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(runs).map(([name, run]) => [
        name,
        { bitsPerChar: Number(run.bitsPerChar.toFixed(3)), finalVersion: run.finalVersion },
      ]),
    ),
  );
}

test(
  'three workers training one character LM through a sync paramserver in lockstep end within 0.1 bits per char of a single worker fed the same events, with the same number of versions',
  { timeout: 600_000 },
  async () => {
    // Lockstep (--params-lockstep-ms): every window's gradients go into one round and every event
    // after it sees the version that round made, so three workers take the single worker's path:
    // one gradient of all keys per window there, three gradients of a third of them averaged here
    // (token-weighted), equal up to float rounding.
    const run = { mode: 'sync', stepsPerKey: 600, learningRate: 0.02 } as const;
    const singleSync = await trainingRun({ ...run, workers: 1, partitions: 1 });
    const sync = await trainingRun({ ...run, workers: 3, partitions: 3 });
    const report = describeRuns({ singleSync, sync });
    process.stderr.write(`distributed training (sync): ${report}\n`);
    assertTrained(singleSync, report);
    assertTrained(sync, report);
    assert.equal(sync.finalVersion, singleSync.finalVersion, report);
    assert.ok(Math.abs(sync.bitsPerChar - singleSync.bitsPerChar) <= 0.1, report);
  },
);

test(
  'three workers training one character LM through an async paramserver in lockstep end within 0.1 bits per char of a single worker making the same updates',
  { timeout: 600_000 },
  async () => {
    // In async mode every gradient is an update of its own. The reference makes the same updates
    // from one worker: three gradients of four keys per window, all computed on version v, applied
    // as v + 1, v + 2, v + 3 (staleness 0, 1, 2). Three workers each go on as soon as their own
    // gradient is in, so theirs are staler (about 2 each) and land in arrival order: a different
    // path that arrives later. Measured (bits per char over the last third, single vs three):
    // 600 events per key, 0.11-0.6 apart; 1200 at lr 0.01, 0.586/0.596, 0.577/0.692,
    // 0.603/0.812; at 2400 and lr 0.02 both have learnt the text: 0.096/0.098, 0.090/0.099. So
    // this compares where training ends, not how fast it gets there.
    const run = { mode: 'async', stepsPerKey: 2400, learningRate: 0.02 } as const;
    const singleAsync = await trainingRun({ ...run, workers: 1, partitions: 1, keysPerStep: 4 });
    const asynchronous = await trainingRun({ ...run, workers: 3, partitions: 3 });
    const report = describeRuns({ singleAsync, async: asynchronous });
    process.stderr.write(`distributed training (async): ${report}\n`);
    assertTrained(singleAsync, report);
    assertTrained(asynchronous, report);
    // About the same number of updates: the stream ends mid-window, and a gradient that falls more
    // than `staleness` versions behind is dropped — how many depends on scheduling (measured 4-6
    // fewer of ~900 on an idle machine, 15 with a benchmark on the other core), never more.
    assert.ok(asynchronous.finalVersion <= singleAsync.finalVersion, report);
    assert.ok(asynchronous.finalVersion >= 0.95 * singleAsync.finalVersion, report);
    assert.ok(Math.abs(asynchronous.bitsPerChar - singleAsync.bitsPerChar) <= 0.1, report);
  },
);
