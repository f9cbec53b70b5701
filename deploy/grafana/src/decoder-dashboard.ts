import { dashboard, quantile, quantiles, timeseries } from './panels.js';
import { DECODE_TASKS } from '../../../shared/metrics/decoder-metrics.js';

/** The decoder: requests, latency per request type, errors by reason, batching and lag. */
export function decoderDashboard() {
  return dashboard({
    uid: 'rnnstream-decoder',
    title: 'rnnstream / Decoder',
    description: `Decode requests per type (${DECODE_TASKS.join(', ')}), their latency, errors by reason, dynamic batching, and how far the decoder lags behind its topics.`,
    rows: [
      {
        title: 'Requests',
        panels: [
          timeseries({
            title: 'Requests per second',
            description:
              'Requests answered with a committed final result (errors included), by request type.',
            unit: 'short',
            axisLabel: 'requests / s',
            min: 0,
            queries: [
              {
                expr: 'sum by (task) (rate(rnnstream_decoder_requests_total[5m]))',
                legend: '{{task}}',
              },
            ],
          }),
          timeseries({
            title: 'Request latency p50 and p99',
            description:
              'Seconds from reading a request to committing its result (queue, compute, transaction), per request type. The RnnstreamDecodeLatencyHigh alert watches the p99.',
            unit: 's',
            min: 0,
            queries: [
              {
                expr: quantile(0.5, 'rnnstream_decoder_request_duration_seconds', { by: ['task'] }),
                legend: 'p50 {{task}}',
              },
              {
                expr: quantile(0.99, 'rnnstream_decoder_request_duration_seconds', {
                  by: ['task'],
                }),
                legend: 'p99 {{task}}',
              },
            ],
          }),
          timeseries({
            title: 'Errors by reason',
            description:
              'Requests answered with an error result per second, by reason (invalid_request, unknown_key, wrong_model, timeout, internal); dead letters are messages that are not DecodeRequests.',
            unit: 'short',
            axisLabel: 'per second',
            min: 0,
            queries: [
              {
                expr: 'sum by (reason) (rate(rnnstream_decoder_errors_total[5m]))',
                legend: '{{reason}}',
              },
              {
                expr: 'sum(rate(rnnstream_decoder_dead_letters_total[5m]))',
                legend: 'dead letters',
              },
            ],
          }),
          timeseries({
            title: 'End-to-end latency p99',
            description:
              "Seconds from the client's request timestamp to the committed result, per request type: includes the Kafka hops and clock skew between client and decoder.",
            unit: 's',
            min: 0,
            queries: [
              {
                expr: quantile(0.99, 'rnnstream_decoder_end_to_end_duration_seconds', {
                  by: ['task'],
                }),
                legend: 'p99 {{task}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Batching and lag',
        panels: [
          timeseries({
            title: 'Batch size and queue depth',
            description:
              'Requests computed together in one batch (dynamic batching), and requests read and waiting to be computed (bounded by decoder.maxQueuedRequests).',
            unit: 'short',
            min: 0,
            queries: [
              ...quantiles('rnnstream_decoder_batch_size', { legendPrefix: 'batch size ' }),
              { expr: 'rnnstream_decoder_queue_depth', legend: 'queued {{instance}}' },
            ],
          }),
          timeseries({
            title: 'Compute and transaction duration',
            description:
              "Seconds the model computed one batch, and seconds to commit one batch's results and offsets.",
            unit: 's',
            min: 0,
            queries: [
              {
                expr: quantile(0.99, 'rnnstream_decoder_batch_compute_duration_seconds'),
                legend: 'compute p99',
              },
              {
                expr: quantile(0.99, 'rnnstream_decoder_transaction_duration_seconds'),
                legend: 'transaction p99',
              },
            ],
          }),
          timeseries({
            title: 'Consumer lag per partition and state view lag',
            description:
              "Offsets of each requests partition not read yet, and changelog offsets the decoder's view of the per-key state has not read yet (a key's state may be that much behind the worker's).",
            unit: 'short',
            axisLabel: 'offsets',
            min: 0,
            queries: [
              {
                expr: 'sum by (partition) (rnnstream_decoder_consumer_lag_offsets)',
                legend: 'requests partition {{partition}}',
              },
              {
                expr: 'sum by (instance) (rnnstream_decoder_state_view_lag_offsets)',
                legend: 'state view {{instance}}',
              },
            ],
          }),
          timeseries({
            title: 'Partial results and consumer restarts',
            description:
              'Partial results streamed per second while generating (stream = true), and group rejoins after a Kafka failure (should stay at 0).',
            unit: 'short',
            axisLabel: 'per second',
            min: 0,
            queries: [
              {
                expr: 'sum(rate(rnnstream_decoder_partial_results_total[5m]))',
                legend: 'partial results',
              },
              {
                expr: 'sum(rate(rnnstream_decoder_consumer_restarts_total[5m]))',
                legend: 'consumer restarts',
              },
            ],
          }),
        ],
      },
    ],
  });
}
