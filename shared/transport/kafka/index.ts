/**
 * The Kafka transport: our adapter over kafkajs. Services import from here, never from kafkajs.
 *
 *   createKafkaClient({ clientId, brokers, logger })          the client; kafkajs logs -> pino
 *   withKafkaAdmin({ client }, (admin) => ...)                an admin session (or openKafkaAdmin /
 *       closeKafkaAdmin); the admin is only handed to the functions here, never called directly
 *   topicNames(app), ensureTopics({ admin, app, partitions, replicationFactor })
 *   listTopics, topicPartitionCount, createTopics, deleteTopics, waitUntilTopicsServe
 *   createKafkaBus({ client, groupId })                        Bus<Uint8Array>: idempotent producer,
 *       read_committed batch consumers; consumer({ commit: 'caller' }) leaves offsets to the caller
 *   createTransactionalProducer({ client, transactionalId })   transaction(): send, sendOffsets,
 *       commit, abort; offsetsToCommit(records) gives sendOffsets' topics
 *   readPartitionsToEnd({ client, topic, partitions, onRecords })  restore read of a changelog
 *   createPartitionTail({ client, topic, onRecords })          a read_committed reader that keeps
 *       tailing chosen partitions: follow(partitions, { from }), unfollow, position, catchUp
 *       (read-your-writes up to the log end taken at the call), lagOffsets, stop
 *   openPartitionOffsetsReader({ client, topic })              start / last stable / log end offsets
 *   encodeOutgoingRecords({ encodeValues, keyOf })            records whose values are sent without a copy
 *   deadLetterOf({ record, error, limits, tsMs })              a consumed record's `<app>.dead-letter` record
 *   keyPartitioner(partitions)                                 key -> partition, as the producers place it
 *   readGroupOffsets / waitForGroupOffsets / topicEndOffsets   positions via the admin client
 *   describeKafkaCluster, describeTopics                       brokers, their configs, topics' layouts
 *   fetchBrokerApiVersions, kafkajsMismatches                  a broker's protocol versions vs kafkajs'
 *
 * Errors are KafkaTransportError (kafkajs' `retriable` flag kept), TopicLayoutError or
 * KafkaSecurityError (a refused login, certificate or ACL: stop, do not retry).
 *
 * Every client connects with the TLS and SASL settings of createKafkaClient's `security` (the
 * `kafka` config section) and the RNNSTREAM_KAFKA_* variables (connection-security.ts).
 */
export {
  closeKafkaAdmin,
  openKafkaAdmin,
  withKafkaAdmin,
  type KafkaAdmin,
} from './admin-session.js';
export {
  createKafkaClient,
  kafkaLogLevelFor,
  parseBrokers,
  pinoLogCreator,
  type KafkaClient,
} from './create-kafka-client.js';
export type { OffsetCommit } from './bus-consumer.js';
export type { KafkaBusProducer } from './bus-producer.js';
export { createKafkaBus, type KafkaBus, type KafkaBusConsumer } from './kafka-bus.js';
export {
  KafkaSecurityError,
  KafkaTransportError,
  TopicLayoutError,
  withKafkaErrors,
  wrapKafkaError,
  type KafkaErrorContext,
} from './kafka-errors.js';
export { deadLetterOf } from './dead-letters.js';
export { encodeOutgoingRecords } from './framing-room.js';
export { keyPartitioner } from './key-partitioner.js';
export {
  offsetsToCommit,
  type KafkaBusRecord,
  type OutgoingRecord,
  type RecordSender,
} from './kafka-messages.js';
export { readPartitionsToEnd, type ReadPartitionsResult } from './read-partitions.js';
export { createPartitionTail, type PartitionTail, type TailStart } from './partition-tail.js';
export {
  openPartitionOffsetsReader,
  type PartitionOffsets,
  type PartitionOffsetsReader,
} from './partition-offsets.js';
export {
  ensureTopics,
  policyConfigs,
  TOPIC_POLICIES,
  TOPIC_ROLES,
  topicNames,
  type EnsureTopicsResult,
  type TopicNames,
  type TopicRole,
} from './topics.js';
export {
  createTopics,
  deleteTopics,
  describeTopics,
  type TopicDescription,
  listTopics,
  topicPartitionCount,
  waitForTopicLeaders,
  waitUntilTopicsServe,
  type NewTopic,
} from './topic-admin.js';
export {
  describeKafkaCluster,
  type BrokerDescription,
  type ClusterDescription,
} from './cluster-description.js';
export {
  APIS_USED,
  fetchBrokerApiVersions,
  installedKafkajsVersion,
  kafkajsMismatches,
  type ApiMismatch,
  type BrokerApiVersions,
} from './broker-api-versions.js';
export {
  createTransactionalProducer,
  type KafkaTransaction,
  type TransactionalProducer,
  type TransactionOffsets,
} from './transactional-producer.js';
export {
  deleteGroupsWithPrefix,
  readGroupOffsets,
  topicEndOffsets,
  waitForGroupOffsets,
  type CommittedOffset,
} from './group-offsets.js';
