import type { KafkaConfig } from '../../shared/config/index.js';
import type { StreamEvent } from '../../shared/events/index.js';
import type { InputLimits } from '../../shared/events/input-limits.js';
import { createLogger, type Logger } from '../../shared/logging/index.js';
import {
  createKafkaBus,
  createKafkaClient,
  withKafkaAdmin,
  type KafkaClient,
} from '../../shared/transport/kafka/index.js';
import { checkInputs, readInputRecords, type InputRecordsOptions } from './input-records.js';
import {
  produceRecords,
  type ProduceItem,
  type ProduceProgress,
  type ProduceSummary,
} from './produce-records.js';
import { prepareProduceTopics, type CreateTopicsOptions } from './produce-topics.js';

/** Where to produce and how; shared by produceEvents (events in code) and produceInput (files). */
export interface ProduceOptions {
  /**
   * A client to use (left as it is: the producer and admin this function opens are closed), or
   * `brokers` to connect to (`"host:port,host:port"` or a list).
   */
  readonly client?: KafkaClient | undefined;
  readonly brokers?: string | readonly string[] | undefined;
  /** With `brokers`: TLS and SASL (the `kafka` config section; RNNSTREAM_KAFKA_* override it). */
  readonly kafka?: KafkaConfig | undefined;
  /** With `brokers`: connection timeout per attempt (default 3000 ms). */
  readonly connectionTimeoutMs?: number | undefined;
  /** The events topic, e.g. topicNames(app).events. */
  readonly topic: string;
  /** Bad records also go there as DeadLetter messages, e.g. topicNames(app).deadLetter. */
  readonly deadLetterTopic?: string | undefined;
  /** Create the app's topics first (existing ones are left as they are). */
  readonly createTopics?: CreateTopicsOptions | undefined;
  /** Records per send request (default 1000). */
  readonly batchSize?: number | undefined;
  /** Bounds on one event (config `limits`, default DEFAULT_INPUT_LIMITS), as the workers apply them. */
  readonly limits?: InputLimits | undefined;
  /** Average events per second at most (default: as fast as the brokers acknowledge). */
  readonly ratePerSecond?: number | undefined;
  /** Aborting stops reading; what was read is sent and the summary returned (`interrupted`). */
  readonly signal?: AbortSignal | undefined;
  /** Bad records, topic creation and kafkajs go here (default: the client's, else warn level). */
  readonly logger?: Logger | undefined;
  readonly progressIntervalMs?: number | undefined;
  readonly onProgress?: ((progress: ProduceProgress) => void) | undefined;
}

/**
 * Produces `events` to `topic` (Event protobuf, key = event key, in order, so a key's events share
 * one partition in their order) and resolves with the summary once every event is acknowledged
 * (acks=all). Invalid events are reported, counted as skipped (and dead-lettered with
 * `deadLetterTopic`), never thrown. A missing topic or an unreachable broker throws
 * KafkaTransportError before anything is sent.
 *
 *   await produceEvents({ client, topic: topicNames(app).events, events: [{ key: 'a', token: 1, eos: false }] })
 */
export function produceEvents(
  options: ProduceOptions & {
    readonly events: AsyncIterable<StreamEvent> | Iterable<StreamEvent>;
  },
): Promise<ProduceSummary> {
  return produceItems(options, asItems(options.events));
}

/**
 * `rnnstream produce`: the input files (checked before connecting) read as `run --embedded` reads
 * them — JSON lines, or text files interleaved byte by byte and keyed by file name — produced as
 * produceEvents does. Bad lines are reported with file, line, reason and fix and skipped.
 */
export async function produceInput(
  options: ProduceOptions & InputRecordsOptions,
): Promise<ProduceSummary> {
  await checkInputs(options);
  return produceItems(options, readInputRecords({ ...options, limits: options.limits }));
}

async function* asItems(
  events: AsyncIterable<StreamEvent> | Iterable<StreamEvent>,
): AsyncGenerator<ProduceItem> {
  for await (const event of events) yield { event };
}

async function produceItems(
  options: ProduceOptions,
  records: AsyncIterable<ProduceItem>,
): Promise<ProduceSummary> {
  const { topic, deadLetterTopic } = options;
  const { client, adminClient } = clientsFor(options);
  const logger = options.logger ?? client.logger;
  const { brokers } = client;

  // The checks go through a client with few retries, so a wrong --brokers fails within seconds.
  const { partitions } = await withKafkaAdmin(
    { client: adminClient, action: 'connect to the brokers' },
    (admin) =>
      prepareProduceTopics({
        admin,
        principal: adminClient.security.principal,
        brokers,
        topic,
        deadLetterTopic,
        create: options.createTopics,
        logger,
      }),
  );

  const bus = createKafkaBus({ client, groupId: `${client.clientId}.produce` });
  try {
    return await produceRecords({
      producer: bus.producer(),
      topic,
      partitions,
      records,
      batchSize: options.batchSize,
      limits: options.limits,
      ratePerSecond: options.ratePerSecond,
      deadLetterTopic,
      signal: options.signal,
      logger,
      progressIntervalMs: options.progressIntervalMs,
      onProgress: options.onProgress,
    });
  } finally {
    await bus.disconnect();
  }
}

function clientsFor(options: ProduceOptions): { client: KafkaClient; adminClient: KafkaClient } {
  if (options.client !== undefined) {
    if (options.brokers !== undefined)
      throw new TypeError('produce: give either client or brokers, not both');
    return { client: options.client, adminClient: options.client };
  }
  if (options.brokers === undefined)
    throw new TypeError('produce: give client (a KafkaClient) or brokers ("host:port,...")');
  const logger = options.logger ?? createLogger({ name: 'produce', level: 'warn' });
  const common = {
    clientId: 'rnnstream-produce',
    brokers: options.brokers,
    logger,
    security: options.kafka,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
  };
  // kafkajs logs each failed connection attempt at error level; the thrown error says it all
  // (cause, brokers, fix), so the checking client only speaks when debugging.
  const quiet = logger.isLevelEnabled('debug') ? logger : logger.child({}, { level: 'fatal' });
  return {
    client: createKafkaClient(common),
    adminClient: createKafkaClient({ ...common, logger: quiet, retries: 1 }),
  };
}
