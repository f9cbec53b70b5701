import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A real Kafka broker for integration tests, one per test process (node --test runs each file in
 * its own process), from the first source that works:
 *
 * 1. `KAFKA_BROKERS` (comma-separated host:port) — a broker started outside, e.g. by CI with
 *    `npm run kafka:local`; stop() does nothing. Fastest when many test files need Kafka.
 * 2. Testcontainers (`confluentinc/cp-kafka:7.7.1` = Kafka 3.7, KRaft; the module drives Confluent's image) if a Docker daemon answers `docker info` within a
 *    few seconds.
 * 3. The local launcher (scripts/kafka/local-broker.mjs): the broker jars from Maven Central run on
 *    the local Java, fresh data per run.
 *
 * `RNNSTREAM_TEST_BROKER=local|docker` forces 2 or 3. Tests call stop() in an `after()` hook; the
 * local launcher also stops the broker when the process exits (a watchdog kills it if the process
 * is killed), and testcontainers' reaper removes its container.
 */
export interface TestBroker {
  readonly brokers: string[];
  readonly source: 'env' | 'docker' | 'local';
  /** Seconds it took to get the broker (0 for KAFKA_BROKERS). */
  readonly startSeconds: number;
  stop(): Promise<void>;
}

let shared: Promise<TestBroker> | undefined;

export function getTestBroker(): Promise<TestBroker> {
  shared ??= startBroker().then((broker) => ({
    ...broker,
    stop: async () => {
      shared = undefined;
      await broker.stop();
    },
  }));
  shared.catch(() => (shared = undefined));
  return shared;
}

/** An app id / topic prefix no other test (or earlier run against the same broker) uses. */
export function uniqueTopicPrefix(testName: string): string {
  const slug = testName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `t-${slug}-${randomBytes(4).toString('hex')}`;
}

async function startBroker(): Promise<Omit<TestBroker, 'stop'> & { stop(): Promise<void> }> {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv) {
    return {
      brokers: fromEnv.split(',').map((b) => b.trim()),
      source: 'env',
      startSeconds: 0,
      stop: async () => {},
    };
  }
  const forced = process.env.RNNSTREAM_TEST_BROKER;
  if (forced !== undefined && forced !== '' && forced !== 'local' && forced !== 'docker') {
    throw new Error(
      `RNNSTREAM_TEST_BROKER=${forced}: not a broker source (fix: local, docker, or unset it)`,
    );
  }
  if (forced === 'docker' || (forced !== 'local' && dockerAnswers())) return startContainer();
  return startLocal();
}

/** True if a Docker daemon answers within 5 s (the client alone is not enough). */
function dockerAnswers(): boolean {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 5_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return result.status === 0 && result.stdout.trim() !== '';
}

async function startContainer() {
  const started = Date.now();
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer('confluentinc/cp-kafka:7.7.1')
    .withKraft()
    .withEnvironment({
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    })
    .start();
  return {
    brokers: [`${container.getHost()}:${container.getMappedPort(9093)}`],
    source: 'docker' as const,
    startSeconds: (Date.now() - started) / 1000,
    stop: async () => {
      await container.stop();
    },
  };
}

interface LocalBrokerModule {
  startLocalBroker(options?: {
    port?: number;
    logDir?: string;
    log?: (message: string) => void;
  }): Promise<{
    brokers: string;
    startSeconds: number;
    stop(): Promise<void>;
  }>;
}

/** scripts/kafka/local-broker.mjs, found by walking up from this file (it runs from dist/). */
function localBrokerModuleUrl(): string {
  return kafkaScriptUrl('local-broker.mjs');
}

/** A module of scripts/kafka (plain ESM, not compiled), found by walking up from this file. */
export function kafkaScriptUrl(file: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'scripts', 'kafka', file);
    if (existsSync(candidate)) return pathToFileURL(candidate).href;
    if (dirname(dir) === dir)
      throw new Error(
        `scripts/kafka/${file} not found above the test files (fix: run the tests from the project checkout)`,
      );
  }
}

async function startLocal() {
  const { startLocalBroker } = (await import(localBrokerModuleUrl())) as LocalBrokerModule;
  const broker = await startLocalBroker({
    log: (message) => process.stderr.write(`[kafka] ${message}\n`),
  });
  return {
    brokers: [broker.brokers],
    source: 'local' as const,
    startSeconds: broker.startSeconds,
    stop: () => broker.stop(),
  };
}
