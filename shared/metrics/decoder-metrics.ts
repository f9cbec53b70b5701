import type { Registry } from 'prom-client';
import { counter, gauge, histogram, registerFamilies } from './families.js';

/** Request types, as results name them (the `task` label). */
export const DECODE_TASKS = ['generate', 'tag', 'classify', 'forecast', 'transduce'] as const;

/** Why a request got an error result (the `reason` label; DecodeResult.error_code). */
export const DECODE_ERROR_REASONS = [
  'invalid_request',
  'unknown_key',
  'wrong_model',
  'timeout',
  'internal',
] as const;

const task = { name: 'task', values: DECODE_TASKS } as const;

/** The decoder's metric families (`rnnstream decoder --metrics-port`), one row each. */
export const DECODER_FAMILIES = {
  requests: counter({
    name: 'rnnstream_decoder_requests_total',
    help: 'Decode requests answered with a committed final result (errors included), by request type.',
    labels: task,
  }),
  errors: counter({
    name: 'rnnstream_decoder_errors_total',
    help: 'Requests answered with an error result, by reason (timeout included).',
    labels: { name: 'reason', values: DECODE_ERROR_REASONS },
  }),
  timeouts: counter({
    name: 'rnnstream_decoder_timeouts_total',
    help: 'Requests past their deadline before they were computed (answered with a timeout result).',
  }),
  deadLetters: counter({
    name: 'rnnstream_decoder_dead_letters_total',
    help: 'Messages on the requests topic that are not DecodeRequests, sent to the dead-letter topic.',
  }),
  requestDuration: histogram({
    name: 'rnnstream_decoder_request_duration_seconds',
    unit: 'seconds',
    help: 'Seconds from reading a request to committing its result (queue + compute + transaction), by request type.',
    labels: task,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  endToEndDuration: histogram({
    name: 'rnnstream_decoder_end_to_end_duration_seconds',
    unit: 'seconds',
    help: "Seconds from the client's request timestamp (ts_ms) to the committed result, by request type (includes Kafka and clock skew).",
    labels: task,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  computeDuration: histogram({
    name: 'rnnstream_decoder_batch_compute_duration_seconds',
    unit: 'seconds',
    help: 'Seconds the model computed one batch of requests.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
  transactionDuration: histogram({
    name: 'rnnstream_decoder_transaction_duration_seconds',
    unit: 'seconds',
    help: "Seconds to commit one batch's results and offsets (one transaction per partition, in parallel).",
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
  batchSize: histogram({
    name: 'rnnstream_decoder_batch_size',
    help: 'Requests computed together in one batch (dynamic batching).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  }),
  queueDepth: gauge({
    name: 'rnnstream_decoder_queue_depth',
    help: 'Requests read and waiting to be computed (bounded by decoder.maxQueuedRequests).',
  }),
  paramVersion: gauge({
    name: 'rnnstream_decoder_param_version',
    help: 'Parameter version the decoder answers with.',
  }),
  stateViewLag: gauge({
    name: 'rnnstream_decoder_state_view_lag_offsets',
    help: "Changelog offsets the decoder's state view has not read yet, summed over its partitions.",
  }),
  consumerLag: gauge({
    name: 'rnnstream_decoder_consumer_lag_offsets',
    unit: 'offsets',
    help: 'Offsets of an owned requests partition not yet read: its high watermark after the last fetched batch (transaction markers count).',
    labels: { name: 'partition', values: [] },
  }),
  ownedPartitions: gauge({
    name: 'rnnstream_decoder_owned_partitions',
    help: 'Partitions of the requests topic this decoder owns (and whose state it views).',
  }),
  streamedPartials: counter({
    name: 'rnnstream_decoder_partial_results_total',
    help: 'Partial results streamed while generating (requests with stream = true).',
  }),
  consumerRestarts: counter({
    name: 'rnnstream_decoder_consumer_restarts_total',
    help: 'Times the decoder dropped its partitions and rejoined the group after a Kafka failure.',
  }),
};

/** The decoder's metric families, registered in `registry`. */
export function createDecoderMetrics(registry: Registry) {
  return registerFamilies(registry, DECODER_FAMILIES);
}

export type DecoderMetrics = ReturnType<typeof createDecoderMetrics>;
