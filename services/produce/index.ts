/**
 * `rnnstream produce`: events into `<app>.events` (Event protobuf, keyed by sequence key).
 *
 *   produceEvents({ client | brokers, topic, events })        events given in code -> ProduceSummary
 *   produceInput({ client | brokers, topic, inputPaths, inputFormat })   JSONL / text files, as `run --embedded` reads them
 *   produceRecords({ producer, topic, partitions, records })  the loop itself, on an open bus producer
 *
 * Options shared by all: deadLetterTopic, createTopics, batchSize, ratePerSecond, signal, logger,
 * progressIntervalMs / onProgress.
 */
export { produceEvents, produceInput, type ProduceOptions } from './produce-events.js';
export {
  DEFAULT_BATCH_SIZE,
  produceRecords,
  type ProduceItem,
  type ProduceProgress,
  type ProduceRecordsOptions,
  type ProduceSummary,
} from './produce-records.js';
export { prepareProduceTopics, type CreateTopicsOptions } from './produce-topics.js';
export {
  checkInputs,
  readInputRecords,
  type InputFormat,
  type InputRecordsOptions,
} from './input-records.js';
