import { RnnstreamError } from '../../errors/index.js';

/**
 * A Kafka operation failed. Wraps the kafkajs error (kept as `cause`): the message names the
 * action, the brokers and the topic, the kafkajs error type, and the fix; `retriable` is kafkajs'
 * own flag (`error.retriable`), so callers know whether trying again can help.
 */
export class KafkaTransportError extends RnnstreamError {
  /** kafkajs error class name, e.g. `KafkaJSConnectionError`, `KafkaJSProtocolError`. */
  readonly kafkaErrorName: string | undefined;
  /** Kafka protocol error type when there is one, e.g. `UNKNOWN_TOPIC_OR_PARTITION`. */
  readonly kafkaErrorType: string | undefined;
  readonly brokers: readonly string[];
  readonly topic: string | undefined;

  constructor(
    message: string,
    {
      retriable = false,
      cause,
      brokers,
      topic,
      kafkaErrorName,
      kafkaErrorType,
    }: {
      retriable?: boolean;
      cause?: unknown;
      brokers: readonly string[];
      topic?: string;
      kafkaErrorName?: string;
      kafkaErrorType?: string;
    },
  ) {
    super(message, { retriable, cause });
    this.brokers = brokers;
    this.topic = topic;
    this.kafkaErrorName = kafkaErrorName;
    this.kafkaErrorType = kafkaErrorType;
  }
}

/**
 * Topics exist with a layout rnnstream cannot work with (partition counts of co-partitioned topics
 * differ, a topic that must be compacted is not). Never retriable: someone has to change the topics.
 */
export class TopicLayoutError extends KafkaTransportError {}

/**
 * The brokers refused this client: a login (SASL), a certificate, or an ACL. Never retriable and
 * never worth a restart: a person has to change credentials, certificates or ACLs, so services
 * stop with it (an orchestrator restarts them with back-off) instead of rejoining forever.
 */
export class KafkaSecurityError extends KafkaTransportError {}

/** What was being done when a Kafka call failed; goes into the error message. */
export interface KafkaErrorContext {
  /** e.g. `send to topic 'demo.events'`, `create topics`. */
  readonly action: string;
  readonly brokers: readonly string[];
  readonly topic?: string;
  readonly transactionalId?: string;
  readonly groupId?: string;
  /** The SASL user the client authenticates as (KafkaClient.security.principal), for ACL fixes. */
  readonly principal?: string | undefined;
}

interface KafkaJsLikeError {
  name?: unknown;
  message?: unknown;
  retriable?: unknown;
  type?: unknown;
  broker?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function asRecord(value: unknown): KafkaJsLikeError | undefined {
  return typeof value === 'object' && value !== null ? (value as KafkaJsLikeError) : undefined;
}

/**
 * The error and its causes, outermost first: kafkajs nests the last attempt in `cause` and puts
 * per-topic failures of one request in `errors` (KafkaJSAggregateError).
 */
function causeChain(error: unknown): KafkaJsLikeError[] {
  const chain: KafkaJsLikeError[] = [];
  const visit = (value: unknown): void => {
    const e = asRecord(value);
    if (e === undefined || chain.includes(e) || chain.length >= 16) return;
    chain.push(e);
    if (Array.isArray(e.errors)) for (const inner of e.errors) visit(inner);
    visit(e.cause);
  };
  visit(error);
  return chain;
}

function fixFor({
  names,
  types,
  messages,
  context,
}: {
  names: string[];
  types: string[];
  messages: string;
  context: KafkaErrorContext;
}): string {
  const brokers = context.brokers.join(',');
  const has = (type: string) => types.includes(type);
  // Security first: a refused login or certificate also closes the connection, and must not be
  // mistaken for an unreachable broker.
  if (names.includes('KafkaJSSASLAuthenticationError') || /\bSASL\b/.test(messages))
    return saslFix(messages);
  if (CERTIFICATE_FAILURE.test(messages)) return certificateFix(messages);
  const acl = aclFix(types, context);
  if (acl !== undefined) return acl;
  if (
    has('UNKNOWN_TOPIC_OR_PARTITION') ||
    /topic.*(not exist|not found)|metadata not loaded/i.test(messages)
  ) {
    return `create the topics first (ensureTopics, which rnnstream's services run at start-up); automatic topic creation is off on purpose`;
  }
  if (has('TOPIC_ALREADY_EXISTS'))
    return 'nothing to do: the topic exists (ensureTopics treats this as success)';
  if (has('INVALID_REPLICATION_FACTOR'))
    return 'use a replication factor no larger than the number of brokers (1 for a local broker)';
  if (has('INVALID_PARTITIONS')) return 'use a partition count of at least 1';
  if (has('MESSAGE_TOO_LARGE') || has('RECORD_LIST_TOO_LARGE')) {
    return "send smaller records: tensor payloads must be chunked below the topic's max.message.bytes (1 MB by default)";
  }
  if (
    has('INVALID_PRODUCER_EPOCH') ||
    has('PRODUCER_FENCED') ||
    has('INVALID_PRODUCER_ID_MAPPING')
  ) {
    return `another producer with transactionalId '${context.transactionalId ?? '?'}' has started (this one is fenced): stop this instance; its open transaction is aborted by the broker`;
  }
  if (
    has('CONCURRENT_TRANSACTIONS') ||
    has('COORDINATOR_LOAD_IN_PROGRESS') ||
    has('COORDINATOR_NOT_AVAILABLE') ||
    has('NOT_COORDINATOR')
  ) {
    return 'retry: the coordinator is busy or moving; it settles within seconds';
  }
  if (has('INVALID_TXN_STATE') || /transaction/i.test(messages)) {
    return 'begin a new transaction with transaction() and end every transaction with commit() or abort() exactly once';
  }
  if (has('POLICY_VIOLATION') || has('INVALID_CONFIG'))
    return 'check the topic configuration against the broker policy (see the broker log)';
  if (
    names.some((n) => /Connection|BrokerNotFound|NoBrokerAvailable|RequestTimeout/.test(n)) ||
    /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection (error|timeout)|Closed connection/i.test(
      messages,
    )
  ) {
    return `check that a Kafka broker listens at ${brokers} (a local one: npm run kafka:local) and that --brokers / KAFKA_BROKERS names it`;
  }
  return 'read the cause below and the broker log; retry if the error is marked retriable';
}

/** What Node and the brokers say when a certificate is refused, on either side. */
const CERTIFICATE_FAILURE =
  /certificate|self[- ]signed|unable to verify|unable to get (local )?issuer|Hostname\/IP does not match|altnames|unknown ca/i;

const SASL_FIX_SETTINGS =
  'the user name is kafka.sasl.username or RNNSTREAM_KAFKA_SASL_USERNAME, the password the file kafka.sasl.passwordFile / RNNSTREAM_KAFKA_SASL_PASSWORD_FILE names or RNNSTREAM_KAFKA_SASL_PASSWORD';

function saslFix(messages: string): string {
  if (/mechanism is not supported/i.test(messages))
    return 'the listener does not enable this SASL mechanism: set kafka.sasl.mechanism (RNNSTREAM_KAFKA_SASL_MECHANISM) to one of its sasl.enabled.mechanisms, or enable it on the broker';
  return `check the user and password (${SASL_FIX_SETTINGS}) and that the brokers hold credentials for that user under this mechanism (SCRAM: kafka-configs.sh --alter --entity-type users --entity-name <user> --add-config 'SCRAM-SHA-512=[password=...]'; PLAIN: the listener's JAAS config; Strimzi: the KafkaUser's Secret). A refused login is not retried`;
}

function certificateFix(messages: string): string {
  if (/Hostname\/IP does not match|altnames/i.test(messages))
    return "the broker's certificate does not name the address connected to: connect by a name it carries, or set kafka.ssl.serverName (RNNSTREAM_KAFKA_SSL_SERVER_NAME) to one";
  if (/certificate required|bad certificate|unknown ca/i.test(messages))
    return 'the broker refused the client certificate: give one its truststore trusts with kafka.ssl.certFile and kafka.ssl.keyFile (RNNSTREAM_KAFKA_SSL_CERT_FILE, RNNSTREAM_KAFKA_SSL_KEY_FILE)';
  return "the broker's certificate is not signed by a trusted CA: give the CA that signed it with kafka.ssl.caFile (RNNSTREAM_KAFKA_SSL_CA_FILE); `openssl s_client -connect <broker> -showcerts` shows the chain the broker sends";
}

/**
 * The ACL a refused request needs, as a kafka-acls.sh command (Strimzi: the same rule in the
 * KafkaUser's spec.authorization.acls).
 */
function aclFix(types: readonly string[], context: KafkaErrorContext): string | undefined {
  const principal = `User:${context.principal ?? '<kafka.sasl.username>'}`;
  const grant = (operations: string[], resource: string) =>
    `${principal} needs an ACL: kafka-acls.sh --bootstrap-server ${context.brokers[0] ?? '<broker>'} --command-config <admin.properties> --add --allow-principal ${principal} ${operations.map((o) => `--operation ${o}`).join(' ')} ${resource}`;
  if (types.includes('TOPIC_AUTHORIZATION_FAILED')) {
    const action = context.action.toLowerCase();
    const operations = /create/.test(action)
      ? ['Create', 'Describe']
      : /send|produce|transaction|commit/.test(action)
        ? ['Write', 'Describe']
        : /consum|read|tail|offsets|restore|follow/.test(action)
          ? ['Read', 'Describe']
          : ['Describe', 'Read', 'Write'];
    return grant(operations, `--topic '${context.topic ?? '<topic>'}'`);
  }
  if (types.includes('GROUP_AUTHORIZATION_FAILED'))
    return grant(['Read', 'Describe'], `--group '${context.groupId ?? '<group>'}'`);
  if (types.includes('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'))
    return grant(
      ['Write', 'Describe'],
      `--transactional-id '${context.transactionalId ?? '<transactional id>'}'`,
    );
  if (types.includes('CLUSTER_AUTHORIZATION_FAILED'))
    return grant(['IdempotentWrite'], '--cluster');
  return undefined;
}

/**
 * Turns anything a kafkajs call threw into a KafkaTransportError (RnnstreamErrors pass through
 * unchanged), keeping kafkajs' `retriable` flag.
 */
export function wrapKafkaError(error: unknown, context: KafkaErrorContext): RnnstreamError {
  if (error instanceof RnnstreamError) return error;
  const chain = causeChain(error);
  const names = chain.map((e) => (typeof e.name === 'string' ? e.name : '')).filter(Boolean);
  const types = chain.map((e) => (typeof e.type === 'string' ? e.type : '')).filter(Boolean);
  const messages = chain
    .map((e) => (typeof e.message === 'string' ? e.message : ''))
    .filter(Boolean);
  const outer = chain[0];
  const retriable =
    outer !== undefined && typeof outer.retriable === 'boolean' ? outer.retriable : false;
  const broker = chain.map((e) => (typeof e.broker === 'string' ? e.broker : '')).find(Boolean);
  const where = [
    `brokers ${broker ?? context.brokers.join(',')}`,
    context.principal === undefined ? '' : `as User:${context.principal}`,
    context.topic === undefined ? '' : `topic '${context.topic}'`,
    context.groupId === undefined ? '' : `group '${context.groupId}'`,
    context.transactionalId === undefined ? '' : `transactionalId '${context.transactionalId}'`,
  ]
    .filter(Boolean)
    .join(', ');
  const detail = [...new Set(messages)].join(': ') || String(error);
  const kind = [names[0], types[0]].filter(Boolean).join(' ');
  const fix = fixFor({ names, types, messages: messages.join(' '), context });
  const refused =
    names.includes('KafkaJSSASLAuthenticationError') ||
    types.some((t) => t.endsWith('_AUTHORIZATION_FAILED') || t === 'SASL_AUTHENTICATION_FAILED') ||
    CERTIFICATE_FAILURE.test(messages.join(' '));
  const ErrorClass = refused ? KafkaSecurityError : KafkaTransportError;
  return new ErrorClass(
    `Kafka: ${context.action} failed (${where}): ${detail}${kind ? ` [${kind}]` : ''}${retriable && !refused ? ' (retriable)' : ''} (fix: ${fix})`,
    {
      retriable: retriable && !refused,
      cause: error,
      brokers: context.brokers,
      ...(context.topic === undefined ? {} : { topic: context.topic }),
      ...(names[0] === undefined ? {} : { kafkaErrorName: names[0] }),
      ...(types[0] === undefined ? {} : { kafkaErrorType: types[0] }),
    },
  );
}

/** Runs a kafkajs call and rethrows its failure as a KafkaTransportError. */
export async function withKafkaErrors<T>(
  context: KafkaErrorContext,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw wrapKafkaError(error, context);
  }
}
