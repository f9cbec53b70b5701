/**
 * Every claim about secured Kafka connections, against a broker of this file's own: SASL_SSL only
 * (client certificates required), SCRAM and PLAIN users, the StandardAuthorizer with ACLs. It is
 * separate from the plaintext broker of KAFKA_BROKERS and stopped at the end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createLogger } from '../../../shared/logging/index.js';
import {
  closeKafkaAdmin,
  createKafkaBus,
  createKafkaClient,
  ensureTopics,
  KafkaSecurityError,
  openKafkaAdmin,
  topicNames,
  withKafkaAdmin,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import {
  startSecuredTestBroker,
  type SecuredTestBroker,
  type TestMechanism,
} from '../../support/kafka/secured-broker.js';
import {
  predictionsOf,
  readTopicUntil,
  spawnService,
  writeConfig,
  type WorkerProcess,
} from '../../support/kafka/worker-harness.js';

const CLI = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

let broker: SecuredTestBroker;
let admin: KafkaClient;
let adminSession: KafkaAdmin;
const app = uniqueTopicPrefix('secured');
const topics = topicNames(app);
const children: WorkerProcess[] = [];

before(
  async () => {
    broker = await startSecuredTestBroker(['alice', 'bob']);
    // alice may use the app's topics, groups and transactional ids; bob its groups and
    // transactional ids but no topic: the principal "without the topic's ACL".
    await broker.allowPrefix(broker.user('alice'), app);
    await broker.allowPrefix(broker.user('bob'), app, ['group', 'transactional-id']);
    admin = broker.adminClient('security-test-admin');
    adminSession = await openKafkaAdmin({ client: admin });
    await ensureTopics({ admin: adminSession, app, partitions: 2, replicationFactor: 1 });
  },
  { timeout: 180_000 },
);
after(async () => {
  for (const child of children) child.child.kill('SIGKILL');
  if (adminSession) await closeKafkaAdmin(adminSession);
  await broker?.stop();
});

/** A pino logger at debug (kafkajs logs everything too) whose lines the test can read. */
function capturingLogger(name: string) {
  const chunks: string[] = [];
  const logger = createLogger({
    name,
    level: 'debug',
    destination: { write: (chunk: string) => void chunks.push(chunk) },
  });
  return { logger, text: () => chunks.join('') };
}

function clientAs(
  name: string,
  mechanism: TestMechanism,
  env: Record<string, string> = {},
): KafkaClient {
  return createKafkaClient({
    clientId: `security-${name}-${mechanism}`,
    brokers: broker.brokers,
    logger: createLogger({ name, level: 'silent' }),
    env: { ...broker.env(broker.user(name), mechanism), ...env },
  });
}

/** Runs `call`, expecting it to reject; returns the error and how long it took. */
async function rejection(call: () => Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const started = performance.now();
  try {
    await call();
  } catch (error) {
    return { error: error as Error, ms: performance.now() - started };
  }
  return assert.fail('expected a failure');
}

test('over SASL_SSL with SCRAM-SHA-512 and client certificates, produce -> worker -> predictions and worker -> paramserver -> versions work end to end', async () => {
  const env = broker.env(broker.user('alice'), 'scram-sha-512');
  const dir = broker.certs.dir;
  const configPath = await writeConfig(dir, {
    app,
    model: { hidden: 8, embedding: 4 },
    tbptt: { k1: 4, k2: 8, maxWaitMs: 0 },
  });
  const text = 'secured streams learn too. ';
  const events = [...text].flatMap((c, i) => [
    { key: 'a', token: c.charCodeAt(0), eos: i === text.length - 1 },
    { key: 'b', token: c.charCodeAt(0), eos: i === text.length - 1 },
  ]);
  const input = join(dir, 'events.jsonl');
  writeFileSync(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const create = spawn(
    process.execPath,
    [
      CLI,
      'produce',
      '--brokers',
      broker.brokers.join(','),
      '--config',
      configPath,
      '--input',
      input,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let produceOut = '';
  create.stdout.on('data', (d: Buffer) => (produceOut += d.toString()));
  create.stderr.on('data', (d: Buffer) => (produceOut += d.toString()));
  const [produceCode] = (await once(create, 'exit')) as [number | null];
  assert.equal(produceCode, 0, produceOut);
  assert.equal(
    (JSON.parse(produceOut.trim().split('\n').pop()!) as { produced: number }).produced,
    events.length,
  );

  const paramserver = spawnService({
    command: 'paramserver',
    configPath,
    brokers: broker.brokers,
    env,
  });
  children.push(paramserver);
  const worker = spawnService({
    command: 'worker',
    configPath,
    brokers: broker.brokers,
    env,
    args: ['--max-batch-size', '16'],
  });
  children.push(worker);

  const records = await readTopicUntil({
    client: admin,
    admin: adminSession,
    topic: topics.predictions,
    done: (r) => r.length >= events.length,
    timeoutMs: 60_000,
    what: `${events.length} predictions`,
  });
  const predictions = predictionsOf(records);
  assert.equal(predictions.length, events.length, 'one committed prediction per event');
  for (const key of ['a', 'b'])
    assert.equal(predictions.filter((p) => p.key === key).length, text.length);
  // The worker trained and the paramserver published versions from its gradients.
  const versions = await readTopicUntil({
    client: admin,
    admin: adminSession,
    topic: topics.params,
    done: (r) => r.length > 0,
    timeoutMs: 30_000,
    what: 'a published parameter version',
  });
  assert.ok(versions.length > 0);
  for (const service of [worker, paramserver]) {
    service.child.kill('SIGTERM');
    await service.summary;
  }
});

for (const mechanism of ['plain', 'scram-sha-256'] as const) {
  test(`a client logs in with ${mechanism.toUpperCase()} and produces and lists topics`, async () => {
    const client = clientAs('alice', mechanism);
    assert.equal(client.security.principal, 'alice');
    const listed = await withKafkaAdmin({ client }, (a) => a.listTopics());
    assert.ok(listed.includes(topics.events), `${topics.events} in ${listed.join(', ')}`);
    const bus = createKafkaBus({ client, groupId: `${app}.${mechanism}` });
    try {
      await bus.producer().send({
        topic: topics.deadLetter,
        messages: [{ key: mechanism, value: Buffer.from('hello') }],
      });
    } finally {
      await bus.disconnect();
    }
  });
}

test('a wrong password fails within seconds, naming mechanism and user, and no log line holds a password', async () => {
  const wrongPassword = 'wrong-password-9f3c';
  const passwordFile = join(broker.certs.dir, 'wrong.password');
  writeFileSync(passwordFile, wrongPassword);
  const { logger, text } = capturingLogger('wrong-password');
  const client = createKafkaClient({
    clientId: 'security-wrong-password',
    brokers: broker.brokers,
    logger,
    env: {
      ...broker.env(broker.user('alice'), 'scram-sha-512'),
      RNNSTREAM_KAFKA_SASL_PASSWORD_FILE: passwordFile,
    },
  });
  const { error, ms } = await rejection(() => withKafkaAdmin({ client }, (a) => a.listTopics()));
  assert.ok(error instanceof KafkaSecurityError, String(error));
  assert.equal(error.retriable, false);
  assert.match(
    error.message,
    /SASL SCRAM-SHA-512 login as user 'alice' refused by 127\.0\.0\.1:\d+/,
  );
  assert.match(error.message, /fix: check the user and password/);
  assert.ok(ms < 10_000, `failed after ${ms} ms`);
  const logs = text();
  assert.ok(logs.length > 0, 'kafkajs logged the failed connection');
  for (const secret of [
    wrongPassword,
    broker.user('alice').password,
    broker.certs.clientKeyPassword,
  ])
    assert.ok(!logs.includes(secret) && !error.message.includes(secret), 'a secret was logged');

  // The same through the CLI at debug level: exit 2 with the error, the password nowhere.
  const child = spawn(
    process.execPath,
    [CLI, 'produce', '--brokers', broker.brokers.join(','), '--app', app, '--input', passwordFile],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...broker.env(broker.user('alice'), 'plain'),
        RNNSTREAM_KAFKA_SASL_PASSWORD_FILE: passwordFile,
        RNNSTREAM_LOG_LEVEL: 'debug',
      },
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 2, output);
  assert.match(output, /SASL PLAIN login as user 'alice' refused/);
  assert.ok(!output.includes(wrongPassword), 'the CLI logged the password');
});

test('a principal without the topic ACL fails fast with the ACL it needs', async () => {
  const bus = createKafkaBus({ client: clientAs('bob', 'scram-sha-512'), groupId: `${app}.bob` });
  const { error, ms } = await rejection(async () => {
    for await (const batch of bus.consumer().batches({ topic: topics.events, maxBatchSize: 100 }))
      void batch;
  });
  await bus.disconnect();
  assert.ok(error instanceof KafkaSecurityError, String(error));
  assert.match(error.message, /TOPIC_AUTHORIZATION_FAILED/);
  assert.match(
    error.message,
    new RegExp(
      `User:bob needs an ACL: kafka-acls\\.sh .*--allow-principal User:bob --operation Read --operation Describe --topic '${topics.events}'`,
    ),
  );
  assert.ok(ms < 15_000, `failed after ${ms} ms`);

  // A worker as bob stops (exit 2) with that error instead of rejoining the group forever.
  const configPath = await writeConfig(broker.certs.dir, { app });
  const worker = spawnService({
    command: 'worker',
    configPath,
    brokers: broker.brokers,
    env: broker.env(broker.user('bob'), 'scram-sha-512'),
    args: ['--no-training'],
  });
  children.push(worker);
  const [code] = (await once(worker.child, 'exit')) as [number | null];
  assert.equal(code, 2, worker.stderr().slice(-2000));
  assert.match(worker.stderr(), /User:bob needs an ACL/);
});

test('TLS with an untrusted CA fails at once with a clear error (no retries)', async () => {
  const client = clientAs('alice', 'scram-sha-512', {
    RNNSTREAM_KAFKA_SSL_CA_FILE: broker.certs.otherCaFile,
  });
  assert.equal(client.retries, 5);
  const { error, ms } = await rejection(() => withKafkaAdmin({ client }, (a) => a.listTopics()));
  assert.ok(error instanceof KafkaSecurityError, String(error));
  assert.match(error.message, /self-signed certificate in certificate chain/);
  assert.match(
    error.message,
    /fix: the broker's certificate is not signed by a trusted CA: give the CA that signed it with kafka\.ssl\.caFile/,
  );
  // kafkajs' 5 retries with back-off would take about 10 s.
  assert.ok(ms < 3_000, `failed after ${ms} ms`);
});
