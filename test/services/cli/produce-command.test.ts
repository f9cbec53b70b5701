import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { decodeEvent } from '../../../shared/codec/event-codec.js';
import type { KafkaAdmin, KafkaClient } from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';
import { readTopic, tempDir } from '../produce/produce-test-helpers.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;

before(async () => void ({ broker, client, admin } = await connectTestAdmin('produce-cli-test')), {
  timeout: 240_000,
});
after(() => releaseTestAdmin({ broker, admin }));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node bin/rnnstream.js ...args`; `signalOn` sends SIGTERM once stderr matches it. */
function runCli(args: string[], { signalOn }: { signalOn?: RegExp } = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, RNNSTREAM_LOG_LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (signalOn !== undefined && !signalled && signalOn.test(stderr)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

const lastJsonLine = (stdout: string) =>
  JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

test('rnnstream produce sends a JSONL file to <app>.events and prints the JSON summary as its last stdout line', async () => {
  const app = uniqueTopicPrefix('produce cli');
  const dir = await tempDir('produce-cli');
  const input = join(dir, 'events.jsonl');
  const events = Array.from({ length: 60 }, (_, i) => ({
    key: `sensor-${i % 6}`,
    features: [i, i / 10],
    ...(i >= 54 ? { eos: true } : {}),
  }));
  await writeFile(
    input,
    [...events.map((e) => JSON.stringify(e)), '{"key": "sensor-1"}'].join('\n') + '\n',
  );
  const config = join(dir, 'cfg.json');
  await writeFile(
    config,
    JSON.stringify({
      app,
      task: { type: 'forecast' },
      input: { kind: 'features', featureSize: 2 },
    }),
  );

  const { code, stdout, stderr } = await runCli([
    'produce',
    '--brokers',
    broker.brokers.join(','),
    '--config',
    config,
    '--input',
    input,
    '--create-topics',
    '--partitions',
    '2',
  ]);
  assert.equal(code, 0, stderr.slice(-2000));
  const summary = lastJsonLine(stdout);
  assert.equal(summary.produced, 60);
  assert.equal(summary.skipped, 1);
  assert.equal(summary.topic, `${app}.events`);
  assert.equal(summary.interrupted, false);
  assert.ok((summary.seconds as number) > 0 && (summary.eventsPerSecond as number) > 0);
  const partitions = summary.partitions as Record<string, number>;
  assert.deepEqual(Object.keys(partitions).sort(), ['0', '1'], 'the partitions the app got');
  assert.equal(partitions['0']! + partitions['1']!, 60);
  const report = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { line?: number; msg: string })
    .find((l) => l.line === 61);
  assert.match(
    report?.msg ?? '',
    /line 61: neither "token" nor "features" is set \(nor a "source"\/"target" pair\) \(fix: /,
  );

  const records = await readTopic(client, `${app}.events`);
  assert.deepEqual(
    records.filter((r) => r.key === 'sensor-3').map((r) => decodeEvent(r.value)),
    events.filter((e) => e.key === 'sensor-3').map((e) => ({ eos: false, ...e })),
  );
});

test('an unreachable broker fails within seconds with exit code 2, naming the brokers and the fix', async () => {
  const dir = await tempDir('produce-cli');
  const input = join(dir, 'one.jsonl');
  await writeFile(input, '{"key": "a", "token": 1}\n');
  const { code, stdout, stderr, ms } = await runCli([
    'produce',
    '--brokers',
    '127.0.0.1:1',
    '--connection-timeout-ms',
    '500',
    '--input',
    input,
  ]);
  assert.equal(code, 2, stderr);
  assert.equal(stdout, '', 'no summary');
  assert.ok(ms < 10_000, `failed after ${ms} ms`);
  assert.match(
    stderr,
    /rnnstream: Kafka: connect to the brokers failed \(brokers 127\.0\.0\.1:1\)/,
  );
  assert.match(stderr, /ECONNREFUSED/);
  assert.match(stderr, /fix: check that a Kafka broker listens at 127\.0\.0\.1:1/);
});

test('a missing events topic exits with code 2 and says to run with --create-topics', async () => {
  const app = uniqueTopicPrefix('produce cli missing');
  const dir = await tempDir('produce-cli');
  const input = join(dir, 'one.jsonl');
  await writeFile(input, '{"key": "a", "token": 1}\n');
  const { code, stderr } = await runCli([
    'produce',
    '--brokers',
    broker.brokers.join(','),
    '--app',
    app,
    '--input',
    input,
  ]);
  assert.equal(code, 2, stderr);
  assert.match(stderr, new RegExp(`the events topic '${app}\\.events' does not exist`));
  assert.match(stderr, /fix: run rnnstream produce with --create-topics/);
});

test('SIGTERM during produce stops reading, sends what was read and prints the summary', async () => {
  const app = uniqueTopicPrefix('produce cli sigterm');
  const dir = await tempDir('produce-cli');
  const input = join(dir, 'many.jsonl');
  const total = 50_000;
  const lines = Array.from({ length: total }, (_, i) =>
    JSON.stringify({ key: `k${i % 10}`, token: i % 256 }),
  );
  await writeFile(input, lines.join('\n') + '\n');
  const { code, stdout, stderr } = await runCli(
    [
      'produce',
      '--brokers',
      broker.brokers.join(','),
      '--app',
      app,
      '--create-topics',
      '--input',
      input,
      '--rate',
      '5000',
      '--progress-seconds',
      '1',
    ],
    { signalOn: /events sent · \d+ events\/s/ }, // the first progress line
  );
  assert.equal(code, 0, stderr.slice(-2000));
  assert.match(stderr, /stopping: no more input is read/);
  const summary = lastJsonLine(stdout);
  assert.equal(summary.interrupted, true);
  const produced = summary.produced as number;
  assert.ok(produced > 0 && produced < total, `stopped after ${produced} of ${total}`);
  assert.equal((await readTopic(client, `${app}.events`)).length, produced, 'all of it is there');
});
