import { dashboard, quantile, timeseries } from './panels.js';

/** The per-key state the workers hold: how many keys, how many bytes, evictions and restores. */
export function stateDashboard() {
  return dashboard({
    uid: 'rnnstream-state',
    title: 'rnnstream / Per-key state',
    description:
      'Keys and bytes of recurrent state held by the workers, evictions (state.ttlMs, state.maxKeys) and restores from the state changelog.',
    rows: [
      {
        title: 'State held',
        panels: [
          timeseries({
            title: 'Live keys',
            description:
              'Keys held in memory per worker, across its partitions. Bounded by state.maxKeys per worker; keys idle longer than state.ttlMs are evicted.',
            unit: 'short',
            min: 0,
            queries: [
              { expr: 'sum by (instance) (rnnstream_worker_live_keys)', legend: '{{instance}}' },
              { expr: 'sum(rnnstream_worker_live_keys)', legend: 'all workers' },
            ],
          }),
          timeseries({
            title: 'State bytes',
            description:
              'Bytes of per-key arrays held per worker (recurrent states, window-start states, pending steps), summed at most every 5 s; and the mean per key.',
            unit: 'bytes',
            min: 0,
            queries: [
              { expr: 'sum by (instance) (rnnstream_worker_state_bytes)', legend: '{{instance}}' },
              {
                expr: 'sum(rnnstream_worker_state_bytes) / sum(rnnstream_worker_live_keys)',
                legend: 'per key (mean)',
              },
            ],
          }),
          timeseries({
            title: 'Evictions and changelog writes',
            description:
              'Keys evicted per second (each writes a tombstone to the state changelog), and changelog records written per second (key states, tombstones, progress).',
            unit: 'short',
            axisLabel: 'per second',
            min: 0,
            queries: [
              {
                expr: 'sum by (instance) (rate(rnnstream_worker_evicted_keys_total[5m]))',
                legend: 'evicted {{instance}}',
              },
              {
                expr: 'sum(rate(rnnstream_worker_changelog_records_total[5m]))',
                legend: 'changelog records',
              },
            ],
          }),
        ],
      },
      {
        title: 'Restores from the changelog',
        panels: [
          timeseries({
            title: 'Restore duration',
            description:
              'Seconds to restore newly assigned partitions before serving them, over restores of the last hour (restores happen on rebalances only). Long restores delay every key of the partition: compact the changelog more often.',
            unit: 's',
            min: 0,
            queries: [
              {
                expr: quantile(0.5, 'rnnstream_worker_restore_duration_seconds', { window: '1h' }),
                legend: 'p50',
              },
              {
                expr: quantile(0.99, 'rnnstream_worker_restore_duration_seconds', { window: '1h' }),
                legend: 'p99',
              },
            ],
          }),
          timeseries({
            title: 'Restored keys and records',
            description:
              'Keys restored and changelog records read per second while restoring partitions.',
            unit: 'short',
            axisLabel: 'per second',
            min: 0,
            queries: [
              { expr: 'sum(rate(rnnstream_worker_restored_keys_total[5m]))', legend: 'keys' },
              { expr: 'sum(rate(rnnstream_worker_restore_records_total[5m]))', legend: 'records' },
            ],
          }),
          timeseries({
            title: 'Restore backlog',
            description:
              'Changelog offsets the restore in progress still has to read, per worker (0 when none runs). Its partitions serve no event until it reaches 0.',
            unit: 'short',
            axisLabel: 'offsets',
            min: 0,
            queries: [
              {
                expr: 'sum by (instance) (rnnstream_worker_restore_remaining_offsets)',
                legend: '{{instance}}',
              },
            ],
          }),
        ],
      },
    ],
  });
}
