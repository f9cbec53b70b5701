import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { createLogger, LOG_LEVEL_ENV } from '../../../shared/logging/index.js';
import {
  createKafkaClient,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { getTestBroker, type TestBroker } from './broker.js';

/** A Kafka client for a test: logs at warn (or $RNNSTREAM_LOG_LEVEL) so kafkajs' info lines stay out of test output. */
export function testKafkaClient(broker: TestBroker, name: string): KafkaClient {
  const logger = createLogger({ name, level: process.env[LOG_LEVEL_ENV] || 'warn' });
  return createKafkaClient({ clientId: name, brokers: broker.brokers, logger });
}

/** Collects every batch a consumer yields until it ends. */
export async function collectBatches<T>(batches: AsyncIterable<ReadonlyArray<T>>): Promise<T[][]> {
  const all: T[][] = [];
  for await (const batch of batches) all.push([...batch]);
  return all;
}

/** The shared broker plus a connected admin client for one test file (disconnect with releaseTestAdmin). */
export async function connectTestAdmin(
  name: string,
): Promise<{ broker: TestBroker; client: KafkaClient; admin: KafkaAdmin }> {
  const broker = await getTestBroker();
  const client = testKafkaClient(broker, name);
  const admin = client.kafka.admin();
  await admin.connect();
  return { broker, client, admin };
}

export async function releaseTestAdmin({
  broker,
  admin,
}: {
  broker?: TestBroker;
  admin?: KafkaAdmin;
}): Promise<void> {
  await admin?.disconnect();
  await broker?.stop();
}

/**
 * connectTestAdmin in a `before` hook of the calling test file, handing the connection to
 * `assign` (e.g. `(kafka) => ({ client, admin } = kafka)`), and releaseTestAdmin in its `after`
 * (after `beforeRelease`).
 */
export function withTestKafka(
  name: string,
  assign: (kafka: { broker: TestBroker; client: KafkaClient; admin: KafkaAdmin }) => void,
  { beforeRelease }: { beforeRelease?: () => void } = {},
): void {
  let connected: Awaited<ReturnType<typeof connectTestAdmin>> | undefined;
  before(
    async () => {
      connected = await connectTestAdmin(name);
      assign(connected);
    },
    { timeout: 240_000 },
  );
  after(async () => {
    beforeRelease?.();
    await releaseTestAdmin(connected ?? {});
  });
}

/**
 * connectTestAdmin in a `before` hook of the calling test file, and in its `after` hook every
 * child process handed to `spawned` killed and the admin released. Read the fields inside tests.
 */
export function useTestKafka(name: string): {
  readonly broker: TestBroker;
  readonly client: KafkaClient;
  readonly admin: KafkaAdmin;
  spawned(child: { kill(signal: NodeJS.Signals): boolean }): void;
} {
  let connected: Awaited<ReturnType<typeof connectTestAdmin>> | undefined;
  const children: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
  withTestKafka(name, (kafka) => (connected = kafka), {
    beforeRelease: () => children.forEach((child) => child.kill('SIGKILL')),
  });
  const get = () => connected ?? assert.fail('useTestKafka: the before hook has not run');
  return {
    get broker() {
      return get().broker;
    },
    get client() {
      return get().client;
    },
    get admin() {
      return get().admin;
    },
    spawned: (child) => void children.push(child),
  };
}
