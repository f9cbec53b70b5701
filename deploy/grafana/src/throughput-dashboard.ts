import { dashboard, quantiles, timeseries } from './panels.js';

/** Is the fleet keeping up with the events topic: throughput, consumer lag, batch times. */
export function throughputDashboard() {
  return dashboard({
    uid: 'rnnstream-throughput',
    title: 'rnnstream / Throughput and lag',
    description:
      'Events processed, consumer lag per partition of the events topic, batch and transaction durations, and the targets Prometheus scrapes.',
    rows: [
      {
        title: 'Throughput and lag',
        panels: [
          timeseries({
            title: 'Events per second',
            description:
              'Events predicted and learned from in committed batches, per worker and in total.',
            unit: 'short',
            axisLabel: 'events / s',
            min: 0,
            queries: [
              {
                expr: 'sum by (instance) (rate(rnnstream_worker_events_total[5m]))',
                legend: '{{instance}}',
              },
              { expr: 'sum(rate(rnnstream_worker_events_total[5m]))', legend: 'all workers' },
            ],
          }),
          timeseries({
            title: 'Consumer lag per partition',
            description:
              'Offsets of each events partition not consumed yet (high watermark after the last fetched batch). Growing lag: add workers, up to the partition count (RnnstreamConsumerLagGrowing).',
            unit: 'short',
            axisLabel: 'offsets',
            min: 0,
            queries: [
              {
                expr: 'sum by (partition) (rnnstream_worker_consumer_lag_offsets)',
                legend: 'partition {{partition}}',
              },
              { expr: 'rnnstream:consumer_lag_offsets:sum', legend: 'total' },
            ],
          }),
          timeseries({
            title: 'Batch duration',
            description:
              'Seconds to process one batch: decode, predict, train, build records and commit the transaction. The batch is the unit of latency for a prediction.',
            unit: 's',
            min: 0,
            queries: quantiles('rnnstream_worker_batch_duration_seconds'),
          }),
          timeseries({
            title: 'Transaction duration',
            description:
              'Seconds from beginning a batch transaction to its commit (changelog, predictions, dead letters, gradients, offsets): the Kafka share of the batch duration.',
            unit: 's',
            min: 0,
            queries: quantiles('rnnstream_worker_transaction_duration_seconds'),
          }),
        ],
      },
      {
        title: 'Failures and traffic',
        panels: [
          timeseries({
            title: 'Transactions, failures and consumer restarts',
            description:
              'Committed batch transactions per second; failed (aborted or fenced) transactions and group rejoins after a Kafka failure should stay at 0.',
            unit: 'short',
            axisLabel: 'per second',
            min: 0,
            queries: [
              { expr: 'sum(rate(rnnstream_worker_transactions_total[5m]))', legend: 'committed' },
              {
                expr: 'sum(rate(rnnstream_worker_transaction_failures_total[5m]))',
                legend: 'failed',
              },
              {
                expr: 'sum(rate(rnnstream_worker_consumer_restarts_total[5m]))',
                legend: 'consumer restarts',
              },
            ],
          }),
          timeseries({
            title: 'Dead letters and redeliveries',
            description:
              'Malformed events sent to <app>.dead-letter (each letter names the reason: fix the producer), and events skipped because a committed transaction had already processed them (redelivery after a rebalance).',
            unit: 'short',
            axisLabel: 'events / s',
            min: 0,
            queries: [
              {
                expr: 'sum(rate(rnnstream_worker_dead_letters_total[5m]))',
                legend: 'dead letters',
              },
              {
                expr: 'sum(rate(rnnstream_worker_events_already_processed_total[5m]))',
                legend: 'already processed',
              },
            ],
          }),
          timeseries({
            title: 'Gradient and parameter traffic',
            description:
              'Bytes per second of gradients the workers send, gradients the paramserver reads, and parameters it publishes.',
            unit: 'Bps',
            min: 0,
            queries: [
              {
                expr: 'sum(rate(rnnstream_worker_gradient_bytes_sent_total[5m]))',
                legend: 'gradients sent',
              },
              {
                expr: 'sum(rate(rnnstream_paramserver_gradient_bytes_received_total[5m]))',
                legend: 'gradients received',
              },
              {
                expr: 'sum(rate(rnnstream_paramserver_param_bytes_published_total[5m]))',
                legend: 'parameters published',
              },
            ],
          }),
          timeseries({
            title: 'Targets up and partitions owned',
            description:
              'Whether Prometheus reaches each rnnstream target (1 = up; RnnstreamServiceDown fires after 2 minutes at 0), and the events partitions each worker owns and has restored.',
            unit: 'short',
            min: 0,
            queries: [
              { expr: 'up{job=~"rnnstream-.*"}', legend: 'up {{job}} {{instance}}' },
              {
                expr: 'sum by (instance) (rnnstream_worker_owned_partitions)',
                legend: 'partitions {{instance}}',
              },
            ],
          }),
        ],
      },
    ],
  });
}
