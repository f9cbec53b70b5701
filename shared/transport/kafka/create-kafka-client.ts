import type { ISocketFactory, Kafka, LogEntry, logCreator } from 'kafkajs';

import kafkajs, { certificateFailFast, kafkajsOverrides, responseAssembly } from './kafkajs.js';
import { loadKafkaSecurity } from './connection-security.js';
import { createSocketFactory } from './response-assembler.js';

import { KafkaSchema, type KafkaConfig } from '../../config/config-schema.js';
import { kafkaConnectionSettings } from '../../config/kafka-env.js';
import { ConfigError } from '../../errors/index.js';
import type { Logger } from '../../logging/index.js';

const { Kafka: KafkaClass, logLevel: KafkaLogLevel } = kafkajs;

/**
 * Our handle on a Kafka cluster: the kafkajs client plus what error messages and logs need.
 * Services pass it to the factories in this folder (ensureTopics, createKafkaBus,
 * createTransactionalProducer) and never import kafkajs themselves.
 */
export interface KafkaClient {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly kafka: Kafka;
  readonly logger: Logger;
  /** kafkajs retries of a failed request (idempotent producers use at least 1). */
  readonly retries: number;
  /**
   * How the connections are secured, for logs and error messages (never a secret): e.g.
   * `SASL_SSL, SCRAM-SHA-512 as 'alice'`; `principal` is the SASL user, if any.
   */
  readonly security: { readonly description: string; readonly principal: string | undefined };
}

const NO_KAFKA_SETTINGS: KafkaConfig = KafkaSchema.parse({});

type PinoMethod = 'error' | 'warn' | 'info' | 'debug';

/** kafkajs level -> pino method. */
const PINO_METHOD: Readonly<Record<number, PinoMethod>> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** pino level -> the kafkajs level that lets through exactly what pino would print. */
export function kafkaLogLevelFor(pinoLevel: string): number {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return KafkaLogLevel.DEBUG;
    case 'info':
      return KafkaLogLevel.INFO;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'error':
    case 'fatal':
      return KafkaLogLevel.ERROR;
    default:
      return KafkaLogLevel.NOTHING;
  }
}

/**
 * A kafkajs `logCreator` writing into our pino logger: one JSON line per kafkajs log entry, at the
 * matching level, with the kafkajs namespace (`Consumer`, `Connection`, ...) in `kafkajs` and
 * kafkajs' own fields (groupId, broker, error, ...) kept as fields. Error responses logged by
 * kafkajs' `Connection` are demoted to debug (see below).
 */
export function pinoLogCreator(logger: Logger): logCreator {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      let method = PINO_METHOD[level];
      if (method === undefined) return;
      // kafkajs logs every error *response* at error level, also the ones its callers handle
      // (UNKNOWN_TOPIC_OR_PARTITION right after creating a topic, rebalances): those go to debug;
      // a failure that matters reaches the caller as a thrown error.
      if (namespace === 'Connection' && entry.message.startsWith('Response ')) method = 'debug';
      // Our idempotent producers keep the client's bounded retries on purpose (a dead broker must
      // fail a send, not hang it); duplicates after a failed send are handled above them (the bus
      // is at-least-once, a failed transaction is aborted), so kafkajs' warning about it is noise.
      if (
        namespace === 'Producer' &&
        entry.message.startsWith('Limiting retries for the idempotent producer')
      )
        method = 'debug';
      // A failed send attempt (kafkajs retries it) is a warning; if all fail, the caller gets the
      // error. CONCURRENT_TRANSACTIONS right after a commit is expected and retried in ms: debug.
      if (namespace === 'Producer' && entry.message.startsWith('Failed to send messages')) {
        method = entry.message.includes('another concurrent operation on the same transaction')
          ? 'debug'
          : 'warn';
      }
      const fields: Record<string, unknown> = { ...entry };
      delete fields.message;
      delete fields.timestamp;
      log[method]({ kafkajs: namespace, ...fields }, entry.message);
    };
}

const BROKER_PATTERN = /^[A-Za-z0-9._-]+:\d{1,5}$/;

/** `"a:9092,b:9092"` or `["a:9092"]` -> checked list; a bad entry is a ConfigError naming it. */
export function parseBrokers(brokers: string | readonly string[]): string[] {
  const list = (typeof brokers === 'string' ? brokers.split(',') : [...brokers])
    .map((b) => b.trim())
    .filter(Boolean);
  if (list.length === 0) {
    throw new ConfigError(
      'brokers: empty list (fix: give host:port[,host:port...], e.g. 127.0.0.1:9092; npm run kafka:local prints one)',
    );
  }
  for (const broker of list) {
    if (!BROKER_PATTERN.test(broker)) {
      throw new ConfigError(
        `brokers: "${broker}" is not host:port (fix: e.g. 127.0.0.1:9092, no scheme, comma-separated)`,
      );
    }
  }
  return list;
}

/**
 * Creates the kafkajs client, its logs bridged into `logger` (kafkajs' level follows the logger's).
 * No connection is opened here: producers, consumers and admins connect when first used.
 *
 * TLS and SASL come from `security` (the `kafka` config section) overridden by the
 * RNNSTREAM_KAFKA_* variables of `env` (shared/config/kafka-env.ts), so every client of a process
 * connects the same way; certificates, keys and secrets are read here, and a setting that cannot
 * work (a missing file, a wrong key passphrase) is a ConfigError before anything connects.
 */
export function createKafkaClient({
  clientId,
  brokers,
  logger,
  security = NO_KAFKA_SETTINGS,
  env = process.env,
  connectionTimeoutMs = 3_000,
  requestTimeoutMs = 30_000,
  retries = 5,
}: {
  clientId: string;
  brokers: string | readonly string[];
  logger: Logger;
  /** The `kafka` config section (default: all defaults, i.e. only the environment decides). */
  security?: KafkaConfig | undefined;
  /** Where the RNNSTREAM_KAFKA_* variables are read (tests). */
  env?: NodeJS.ProcessEnv;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** kafkajs retries of a failed request (exponential back-off from 300 ms). */
  retries?: number;
}): KafkaClient {
  const list = parseBrokers(brokers);
  const secured = loadKafkaSecurity(kafkaConnectionSettings(security, env), env);
  for (const warning of secured.warnings) logger.warn({ clientId }, warning);
  const kafka = new KafkaClass({
    clientId,
    brokers: list,
    ...(secured.ssl === undefined ? {} : { ssl: secured.ssl }),
    ...(secured.sasl === undefined ? {} : { sasl: secured.sasl }),
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    retry: { retries },
    logLevel: kafkaLogLevelFor(logger.level),
    logCreator: pinoLogCreator(logger),
    // Reads into one buffer per socket: safe only where connections copy what they read at once.
    ...(responseAssembly.implementation === 'replaced'
      ? { socketFactory: createSocketFactory() as unknown as ISocketFactory }
      : {}),
  });
  if (!toldAboutOverrides) {
    toldAboutOverrides = true;
    for (const [name, result] of Object.entries({
      ...kafkajsOverrides,
      responseAssembly,
      certificateFailFast,
    }))
      if (result.implementation === 'kafkajs')
        logger.info(
          { reason: result.reason },
          `kafkajs uses its own ${name} (see shared/transport/kafka/kafkajs.ts)`,
        );
  }
  const { description, principal } = secured;
  return { clientId, brokers: list, kafka, logger, retries, security: { description, principal } };
}

let toldAboutOverrides = false;
