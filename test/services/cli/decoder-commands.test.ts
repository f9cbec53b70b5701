/**
 * The decoder service's command-line clients against a real broker and decoder: `generate
 * --brokers` continues a prompt, `decode` prints a result as JSON, an error result exits 2 with its
 * reason, and conflicting options exit 1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startDecoder } from '../../../services/decoder/run-decoder.js';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { createLogger } from '../../../shared/logging/index.js';
import type { KafkaAdmin, KafkaClient } from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { createAppTopics } from '../../support/kafka/worker-harness.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));
let client: KafkaClient;
let admin: KafkaAdmin;
let broker: TestBroker;
withTestKafka('decoder-commands-test', (kafka) => ({ client, admin, broker } = kafka));
const app = uniqueTopicPrefix('decoder-commands');
let stopDecoder: (() => Promise<unknown>) | undefined;
let started: Promise<void> | undefined;

/** One decoder for the file, started by the first test that needs it (after the broker is up). */
const decoderRunning = () => (started ??= startOne());

async function startOne(): Promise<void> {
  await selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } });
  await createAppTopics({ admin, app, partitions: 2 });
  const config = parseConfig(
    { app, backend: 'cpu', model: { cell: 'gru', hidden: 8, embedding: 4 } },
    { source: 'decoder-commands-test' },
  );
  const decoder = await startDecoder({
    config,
    client,
    logger: createLogger({ name: 'decoder-commands-test', level: 'error' }),
    paramsWaitMs: 0,
    progressIntervalMs: Infinity,
  });
  stopDecoder = () => decoder.stop();
}
after(() => stopDecoder?.());

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, RNNSTREAM_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('generate --brokers prints the prompt and its continuation; --json the whole result', async () => {
  await decoderRunning();
  const brokers = broker.brokers.join(',');
  const plain = await cli([
    'generate',
    '--brokers',
    brokers,
    '--app',
    app,
    '--prompt',
    'ab',
    '--max-tokens',
    '5',
  ]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(plain.stdout.startsWith('ab'), plain.stdout);
  const json = await cli([
    'generate',
    '--brokers',
    brokers,
    '--app',
    app,
    '--prompt',
    'ab',
    '--max-tokens',
    '5',
    '--beam',
    '2',
    '--json',
  ]);
  assert.equal(json.code, 0, json.stderr);
  const result = JSON.parse(json.stdout.trim()) as {
    tokens: number[];
    paramVersion: number;
    finishReason: string;
  };
  assert.equal(result.tokens.length, 5);
  assert.equal(result.finishReason, 'length');
  assert.equal(result.paramVersion, 0);
});

test('an error result is printed with its reason and exits 2; conflicting options exit 1', async () => {
  await decoderRunning();
  const brokers = broker.brokers.join(',');
  const wrong = await cli([
    'decode',
    '--brokers',
    brokers,
    '--app',
    app,
    '--classify',
    '--key',
    'k',
  ]);
  assert.equal(wrong.code, 2);
  assert.match(
    wrong.stderr,
    /error \(wrong_model\): a classify request needs a model of task "classify"/,
  );
  assert.equal(JSON.parse(wrong.stdout.trim()).errorCode, 'wrong_model');
  const both = await cli([
    'generate',
    '--brokers',
    brokers,
    '--params',
    'x.bin',
    '--app',
    app,
    '--prompt',
    'a',
  ]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /exactly one of --params FILE .* and --brokers LIST/);
  const neither = await cli(['decode', '--brokers', brokers, '--app', app, '--tag']);
  assert.equal(neither.code, 1);
  assert.match(neither.stderr, /--events FILE, --key KEY, or both/);
});
