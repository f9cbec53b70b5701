import { dashboard, quantiles, timeseries } from './panels.js';

/** Parameter versions: how fast they advance, who uses which, and how stale the gradients are. */
export function parametersDashboard() {
  return dashboard({
    uid: 'rnnstream-parameters',
    title: 'rnnstream / Parameter versions and staleness',
    description:
      'Parameter versions published by the paramserver and used by workers and decoders, gradient staleness, rounds, and gradients dropped or rejected.',
    rows: [
      {
        title: 'Versions',
        panels: [
          timeseries({
            title: 'Parameter version',
            description:
              'Latest version committed by the paramserver, and the version each worker and decoder predicts with. A flat paramserver line while workers send gradients fires RnnstreamNoNewParameterVersion.',
            unit: 'short',
            queries: [
              { expr: 'max(rnnstream_paramserver_param_version)', legend: 'paramserver' },
              { expr: 'rnnstream_worker_param_version', legend: 'worker {{instance}}' },
              { expr: 'rnnstream_decoder_param_version', legend: 'decoder {{instance}}' },
            ],
          }),
          timeseries({
            title: 'Versions behind the paramserver',
            description:
              'Published version minus the version each worker and decoder uses. A worker that stays behind computes stale gradients, which the paramserver drops beyond paramserver.staleness.',
            unit: 'short',
            min: 0,
            queries: [
              {
                expr: 'scalar(max(rnnstream_paramserver_param_version)) - rnnstream_worker_param_version',
                legend: 'worker {{instance}}',
              },
              {
                expr: 'scalar(max(rnnstream_paramserver_param_version)) - rnnstream_decoder_param_version',
                legend: 'decoder {{instance}}',
              },
            ],
          }),
          timeseries({
            title: 'Rounds per second',
            description:
              'Rounds applied (one new version each), by what closed them: all-live (every live worker reported, sync), deadline (sync: some worker was late), arrival (async).',
            unit: 'short',
            axisLabel: 'rounds / s',
            min: 0,
            queries: [
              {
                expr: 'sum by (trigger) (rate(rnnstream_paramserver_rounds_total[5m]))',
                legend: '{{trigger}}',
              },
            ],
          }),
          timeseries({
            title: 'Round duration',
            description:
              'Seconds from closing a round to its version being committed: average, clip, optimizer step, checkpoint and publish.',
            unit: 's',
            min: 0,
            queries: quantiles('rnnstream_paramserver_round_duration_seconds'),
          }),
        ],
      },
      {
        title: 'Gradients',
        panels: [
          timeseries({
            title: 'Gradient staleness',
            description:
              'Versions between the one a gradient was computed on and the current one, over received gradients (stale ones included).',
            unit: 'short',
            axisLabel: 'versions',
            min: 0,
            queries: quantiles('rnnstream_paramserver_gradient_staleness_versions'),
          }),
          timeseries({
            title: 'Gradients received, deduplicated and dropped',
            description:
              'Complete gradients reassembled per second; those skipped as already applied (worker, step); and those dropped by reason: stale (beyond paramserver.staleness), future (version not published: another paramserver), invalid.',
            unit: 'short',
            axisLabel: 'gradients / s',
            min: 0,
            queries: [
              {
                expr: 'sum(rate(rnnstream_paramserver_gradients_received_total[5m]))',
                legend: 'received',
              },
              {
                expr: 'sum(rate(rnnstream_paramserver_gradients_deduplicated_total[5m]))',
                legend: 'deduplicated',
              },
              {
                expr: 'sum by (reason) (rate(rnnstream_paramserver_gradients_dropped_total[5m]))',
                legend: 'dropped {{reason}}',
              },
            ],
          }),
          timeseries({
            title: 'Live workers',
            description:
              'Workers that sent a gradient within paramserver.workerTimeoutMs; a sync round waits for each of them.',
            unit: 'short',
            min: 0,
            queries: [{ expr: 'max(rnnstream_paramserver_live_workers)', legend: 'live workers' }],
          }),
          timeseries({
            title: 'Gradient chunks rejected and sets incomplete',
            description:
              'GradientChunk records rejected by kind (undecodable, corrupt, duplicate, mismatch, invalid), and chunk sets dropped incomplete by reason (expired, memory). Anything but 0 points at a producer or a topic problem.',
            unit: 'short',
            axisLabel: 'per second',
            min: 0,
            queries: [
              {
                expr: 'sum by (kind) (rate(rnnstream_paramserver_gradient_chunks_rejected_total[5m]))',
                legend: 'chunks {{kind}}',
              },
              {
                expr: 'sum by (reason) (rate(rnnstream_paramserver_gradient_sets_incomplete_total[5m]))',
                legend: 'sets {{reason}}',
              },
            ],
          }),
        ],
      },
    ],
  });
}
