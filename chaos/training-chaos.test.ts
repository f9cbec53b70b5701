/**
 * Chaos with training on (`npm run test:chaos`; .ci/run runs it when time allows): three training
 * workers, a paramserver and a broker of its own on a stream of 20,000 events over 8 keys and 4
 * partitions. During the stream, at 20 % and twice more a worker is SIGKILLed and restarted, the
 * paramserver is SIGKILLed and restarted once, and the broker is stopped and started again (same
 * port and log directory). Kafka's own transactions system test bounces brokers and clients and
 * demands input = output without duplicates; so does this:
 * - every event has exactly one committed prediction (read_committed);
 * - no version is published twice or skipped, and no gradient is applied twice (the versions'
 *   applied-gradient lists have no repeats);
 * - every key's final state reflects each of its events exactly once (the guarantee: its position
 *   counts every event of the key, its input offset is the key's last event; the values depend
 *   on which version each batch saw, which restarts change, so they are not compared);
 * - after the broker returns, every service answers /readyz 200 within the session timeout + 30 s.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { encodeEvent } from '../shared/codec/index.js';
import { createLogger } from '../shared/logging/index.js';
import {
  closeKafkaAdmin,
  createKafkaClient,
  ensureTopics,
  openKafkaAdmin,
  topicNames,
  withKafkaAdmin,
  type KafkaClient,
} from '../shared/transport/kafka/index.js';
import {
  foldChangelog,
  predictionsOf,
  produceRecords,
  readTopic,
  spawnService,
  writeConfig,
  type WorkerProcess,
} from '../test/support/kafka/worker-harness.js';
import { until } from '../test/support/until.js';
import {
  readWholeTopic,
  spawnParamserver,
  versionsOnTopic,
  type ParamserverChild,
} from '../test/support/paramserver/harness.js';

interface LocalBroker {
  brokers: string;
  stop(): Promise<void>;
}
interface BrokerModule {
  startLocalBroker(o: object): Promise<LocalBroker>;
  freePort(port?: number): Promise<number>;
}
const brokerModule = (await import(
  fileURLToPath(new URL('../../scripts/kafka/local-broker.mjs', import.meta.url))
)) as BrokerModule;

const KEYS = 8;
const EVENTS_PER_KEY = 2_500;
const PARTITIONS = 4;
const CHUNKS = 40;
const SESSION_TIMEOUT_MS = 10_000;
const say = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** The last /readyz answer of each port (for the diagnosis of a timeout). */
const lastReadyz = new Map<number, string>();
const isReady = (port: number) =>
  fetch(`http://127.0.0.1:${port}/readyz`).then(
    async (r) => {
      lastReadyz.set(port, `${r.status} ${await r.text()}`);
      return r.status === 200;
    },
    (error: Error) => {
      lastReadyz.set(port, `no answer: ${error.message}`);
      return false;
    },
  );

test(
  'three training workers, a paramserver and the broker killed and restarted mid-stream lose and repeat nothing',
  { timeout: 900_000 },
  async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'rnnstream-chaos-'));
    cleanups.push(() => rm(runDir, { recursive: true, force: true }));
    const logDir = join(runDir, 'kafka');
    let broker = await brokerModule.startLocalBroker({ logDir, log: say });
    cleanups.push(() => broker.stop());
    const brokers = broker.brokers;
    const client: KafkaClient = createKafkaClient({
      clientId: 'chaos-test',
      brokers,
      logger: createLogger({ name: 'chaos-test', level: 'error' }),
    });
    const app = `chaos-${Date.now()}`;
    const topics = topicNames(app);
    await withKafkaAdmin({ client }, (admin) =>
      ensureTopics({
        admin,
        app,
        partitions: PARTITIONS,
        replicationFactor: 1,
        brokers: client.brokers,
      }),
    );
    const configPath = await writeConfig(runDir, {
      app,
      task: { type: 'lm' },
      model: { cell: 'gru', hidden: 16, embedding: 8 },
      tbptt: { k1: 8, k2: 8, maxWaitMs: 50 },
    });

    // Services on fixed metrics ports, so a restarted one answers where its predecessor did.
    const ports = {
      paramserver: await brokerModule.freePort(),
      workers: [
        await brokerModule.freePort(),
        await brokerModule.freePort(),
        await brokerModule.freePort(),
      ],
    };
    const checkpointDir = join(runDir, 'checkpoints');
    const startParamserver = (): ParamserverChild => {
      const child = spawnParamserver([
        ...['--config', configPath, '--brokers', brokers, '--checkpoint-dir', checkpointDir],
        ...['--metrics-port', String(ports.paramserver), '--metrics-host', '127.0.0.1'],
      ]);
      cleanups.push(async () => child.child.kill('SIGKILL'));
      return child;
    };
    const startWorker = (i: number): WorkerProcess => {
      const worker = spawnService({
        command: 'worker',
        configPath,
        brokers: [brokers],
        args: [
          ...['--worker-id', `w${i + 1}`, '--session-timeout-ms', String(SESSION_TIMEOUT_MS)],
          ...['--metrics-port', String(ports.workers[i]), '--metrics-host', '127.0.0.1'],
        ],
      });
      cleanups.push(async () => worker.child.kill('SIGKILL'));
      return worker;
    };
    let paramserver = startParamserver();
    const workers: WorkerProcess[] = [];
    const diagnose = () =>
      [
        `paramserver (:${ports.paramserver}, exit ${paramserver.child.exitCode}):\n${paramserver.output().slice(-2500)}`,
        `last /readyz answers: ${JSON.stringify([...lastReadyz])}`,
        ...workers.map(
          (w, i) =>
            `w${i + 1} (:${ports.workers[i]}, exit ${w.child.exitCode}):\n${w.stderr().slice(-6000)}`,
        ),
      ].join('\n\n');
    /** Until the service on `port` answers /readyz 200 (the services' log tails if it does not). */
    const untilReady = (port: number, what: string, timeoutMs: number) =>
      until(what, async () => ((await isReady(port)) ? true : undefined), {
        timeoutMs,
        ignoreErrors: true,
        diagnose,
      });
    await untilReady(ports.paramserver, 'the paramserver ready', 120_000);
    workers.push(...[0, 1, 2].map(startWorker));
    for (const port of ports.workers) await untilReady(port, `worker on :${port} ready`, 120_000);

    const killAndRestartWorker = async (i: number) => {
      say(`SIGKILL worker w${i + 1}`);
      workers[i]!.child.kill('SIGKILL');
      await new Promise((resolve) => workers[i]!.child.once('exit', resolve));
      workers[i] = startWorker(i);
    };
    const killAndRestartParamserver = async () => {
      say('SIGKILL paramserver');
      paramserver.child.kill('SIGKILL');
      await paramserver.exited;
      paramserver = startParamserver();
    };
    let readyAfterBounceMs = 0;
    const bounceBroker = async () => {
      say('stopping the broker');
      await broker.stop();
      await sleep(3_000);
      broker = await brokerModule.startLocalBroker({ logDir, resume: true, log: say });
      const back = Date.now();
      for (const port of [ports.paramserver, ...ports.workers])
        await untilReady(
          port,
          `:${port} ready after the broker returned`,
          SESSION_TIMEOUT_MS + 30_000,
        );
      readyAfterBounceMs = Date.now() - back;
      say(`every service ready ${readyAfterBounceMs} ms after the broker returned`);
    };
    const chaos = new Map<number, () => Promise<void>>([
      [8, () => killAndRestartWorker(0)],
      [14, killAndRestartParamserver],
      [20, bounceBroker],
      [26, () => killAndRestartWorker(1)],
      [32, () => killAndRestartWorker(2)],
    ]);

    // The stream: each key's text in order, produced in chunks with the chaos between them.
    const text = 'streams of events, one hidden state per key, learned online; ';
    const events = Array.from({ length: EVENTS_PER_KEY }, (_, step) =>
      Array.from({ length: KEYS }, (_, k) => {
        const key = `key-${k}`;
        return {
          key,
          value: encodeEvent({ key, token: text[(step + k) % text.length]!, eos: false }),
        };
      }),
    ).flat();
    const chunkSize = Math.ceil(events.length / CHUNKS);
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      await chaos.get(chunk)?.();
      await produceRecords({
        client,
        topic: topics.events,
        records: events.slice(chunk * chunkSize, (chunk + 1) * chunkSize),
      });
      await sleep(300);
    }
    say('all events produced; waiting for every prediction');

    const admin = await openKafkaAdmin({ client });
    cleanups.push(() => closeKafkaAdmin(admin));
    const predictions = await until(
      'a committed prediction for every event',
      async () => {
        const records = await readTopic({ client, admin, topic: topics.predictions });
        return records.length >= events.length ? predictionsOf(records) : undefined;
      },
      { timeoutMs: 300_000, ignoreErrors: true, diagnose },
    );
    const seen = new Map<string, number>();
    for (const p of predictions) {
      const id = `${p.partition}/${p.index}`;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    const repeated = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(repeated, [], 'no event predicted twice');
    assert.equal(seen.size, events.length, 'every event predicted once');

    // Every worker has committed its last batch once the predictions are complete; the paramserver
    // may still be applying the last gradients: wait until its version stops moving.
    let versions = versionsOnTopic(await readWholeTopic(client, topics.params), 'default');
    for (let stable = 0; stable < 4;) {
      await sleep(1_000);
      const next = versionsOnTopic(await readWholeTopic(client, topics.params), 'default');
      stable = next.order.length === versions.order.length ? stable + 1 : 0;
      versions = next;
    }
    assert.deepEqual(versions.duplicateKeys, [], 'no version chunk published twice');
    const order = [...versions.order];
    assert.deepEqual(
      order,
      order.map((_, i) => order[0]! + i),
      'versions are published in order, none skipped',
    );
    const applied = [...versions.versions.values()].flatMap((v) =>
      (v.applied ?? []).map((g) => `${g.workerId}#${g.step}`),
    );
    assert.ok(applied.length > 100, `gradients were applied (${applied.length})`);
    assert.equal(new Set(applied).size, applied.length, 'no gradient applied twice');

    const lastOffsetOfKey = new Map<string, number>();
    const eventsOfKey = new Map<string, number>();
    for (const p of predictions) {
      lastOffsetOfKey.set(p.key, Math.max(lastOffsetOfKey.get(p.key) ?? -1, p.index));
      eventsOfKey.set(p.key, (eventsOfKey.get(p.key) ?? 0) + 1);
    }
    const states = foldChangelog(await readTopic({ client, admin, topic: topics.stateChangelog }));
    assert.equal(states.size, KEYS);
    for (const [key, state] of states) {
      assert.equal(state.position, eventsOfKey.get(key), `${key}: every event reflected once`);
      assert.equal(state.inputOffset, lastOffsetOfKey.get(key), `${key}: up to its last event`);
    }
    assert.ok(readyAfterBounceMs <= SESSION_TIMEOUT_MS + 30_000);

    for (const w of workers) w.child.kill('SIGTERM');
    paramserver.child.kill('SIGTERM');
    const codes = await Promise.all([
      ...workers.map((w) =>
        w.summary.then(
          () => 0,
          () => w.child.exitCode,
        ),
      ),
      paramserver.exited,
    ]);
    assert.deepEqual(codes, [0, 0, 0, 0], 'every service stops cleanly on SIGTERM');
    // A service that outlived its stop by open handles (services/cli/exit-when-stopped.ts) left
    // anyway; say what held it, so the leak is visible in CI logs.
    for (const [name, log] of [
      ['paramserver', paramserver.output()],
      ...workers.map((w, i) => [`w${i + 1}`, w.stderr()] as const),
    ] as const)
      for (const line of log.split('\n').filter((l) => l.includes('open handles kept')))
        say(`${name}: ${line}`);
  },
);
