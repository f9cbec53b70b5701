import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  decodeKeyState,
  decodePrediction,
  type KeyStateRecord,
} from '../../../shared/codec/index.js';
import type { Prediction } from '../../../shared/events/prediction.js';
import {
  createKafkaBus,
  ensureTopics,
  readPartitionsToEnd,
  topicNames,
  type KafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
  type OutgoingRecord,
  type TopicNames,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from './broker.js';

const CLI = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

/** Creates an app's topics with `partitions` keyed partitions. */
export async function createAppTopics({
  admin,
  app,
  partitions,
}: {
  admin: KafkaAdmin;
  app: string;
  partitions: number;
}): Promise<void> {
  await ensureTopics({ admin, app, partitions, replicationFactor: 1 });
}

/** A new app for one test: a unique topic prefix made of `name`, its topics created. */
export async function createTestApp({
  admin,
  name,
  partitions,
}: {
  admin: KafkaAdmin;
  name: string;
  partitions: number;
}): Promise<{ app: string; topics: TopicNames }> {
  const app = uniqueTopicPrefix(name);
  await createAppTopics({ admin, app, partitions });
  return { app, topics: topicNames(app) };
}

/** Produces records (idempotent producer, Java partitioner) and waits for the acknowledgements. */
export async function produceRecords({
  client,
  topic,
  records,
}: {
  client: KafkaClient;
  topic: string;
  records: readonly OutgoingRecord[];
}): Promise<void> {
  const bus = createKafkaBus({ client, groupId: `${topic}.producer-only` });
  try {
    for (let i = 0; i < records.length; i += 1000)
      await bus.producer().send({ topic, messages: records.slice(i, i + 1000) });
  } finally {
    await bus.disconnect();
  }
}

/** Every committed record of a topic, in offset order per partition. */
export async function readTopic({
  client,
  admin,
  topic,
}: {
  client: KafkaClient;
  admin: KafkaAdmin;
  topic: string;
}): Promise<KafkaBusRecord[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const out: KafkaBusRecord[] = [];
  await readPartitionsToEnd({
    client,
    topic,
    partitions: offsets.map((o) => o.partition),
    onRecords: (records) => void out.push(...records),
  });
  return out;
}

/** Reads `topic` again and again until `done(records)` holds (or fails after timeoutMs). */
export async function readTopicUntil({
  client,
  admin,
  topic,
  done,
  timeoutMs = 60_000,
  what,
}: {
  client: KafkaClient;
  admin: KafkaAdmin;
  topic: string;
  done: (records: readonly KafkaBusRecord[]) => boolean;
  timeoutMs?: number;
  what: string;
}): Promise<KafkaBusRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await readTopic({ client, admin, topic });
    if (done(records)) return records;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (${records.length} records in '${topic}')`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export function predictionsOf(records: readonly KafkaBusRecord[]): Prediction[] {
  return records.map((r) => decodePrediction(r.value));
}

/** The changelog folded as compaction would: latest record per sequence key, tombstones removed. */
export function foldChangelog(records: readonly KafkaBusRecord[]): Map<string, KeyStateRecord> {
  const latest = new Map<string, KeyStateRecord | null>();
  for (const r of records) {
    if (r.key.startsWith('\u0000')) continue; // the worker's own per-partition records
    latest.set(r.key, r.tombstone ? null : decodeKeyState(r.value));
  }
  const out = new Map<string, KeyStateRecord>();
  for (const [key, record] of latest) if (record) out.set(key, record);
  return out;
}

export async function writeConfig(dir: string, config: object): Promise<string> {
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(config));
  return path;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** The JSON summary the worker prints when it stops (rejects if it exits without one). */
  readonly summary: Promise<Record<string, unknown>>;
  /** Everything written to stderr so far (JSON log lines). */
  stderr(): string;
  /** Resolves once a log line matching `pattern` was written. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Runs `rnnstream worker` as a child process (so a test can SIGKILL it). */
export function spawnWorker(options: {
  configPath: string;
  brokers: readonly string[];
  args?: readonly string[];
}): WorkerProcess {
  return spawnService({ command: 'worker', ...options });
}

/** Runs a service command (`rnnstream worker`, `rnnstream decoder`) as a child process. */
export function spawnService({
  command,
  configPath,
  brokers,
  args = [],
  env = {},
}: {
  command: 'worker' | 'decoder' | 'paramserver';
  configPath: string;
  brokers: readonly string[];
  args?: readonly string[];
  /** Added to this process' environment (e.g. RNNSTREAM_KAFKA_* settings). */
  env?: Readonly<Record<string, string>>;
}): WorkerProcess {
  const child = spawn(
    process.execPath,
    [CLI, command, '--config', configPath, '--brokers', brokers.join(','), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        RNNSTREAM_LOG_LEVEL: process.env.RNNSTREAM_TEST_LOG_LEVEL ?? 'info',
        ...env,
      },
    },
  );
  let out = '';
  let err = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters])
      if (w.pattern.test(err)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  const summary = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      const last = out.trim().split('\n').pop();
      if (code === 0 && last) resolve(JSON.parse(last) as Record<string, unknown>);
      else
        reject(
          new Error(
            `${command} exited with ${signal ?? `code ${code}`}; stderr tail:\n${err.slice(-3000)}`,
          ),
        );
    });
  });
  summary.catch(() => {}); // a killed worker has no summary; tests that want it await it
  return {
    child,
    summary,
    stderr: () => err,
    waitForLog(pattern, timeoutMs = 60_000) {
      if (pattern.test(err)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no log line matching ${pattern} within ${timeoutMs} ms; stderr tail:\n${err.slice(-3000)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}
