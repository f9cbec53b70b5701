import { defaultConfig } from '../../../shared/config/index.js';
import { dashboard, quantiles, timeseries } from './panels.js';

/**
 * How well the stream is learned: the prequential figures (each prediction scored before the
 * worker learns from it) against what a trivial predictor would score, the training loss, and the
 * parameter server's view of the gradients (norm before clipping, clip ratio).
 *
 * The uniform baseline is log2(input.vocabSize) bits per token; Prometheus does not know the
 * vocabulary, so the generator takes it (`--vocab-size`, the config's default otherwise).
 */
export function learningDashboard({
  vocabSize = defaultConfig().input.vocabSize,
}: { vocabSize?: number } = {}) {
  return dashboard({
    uid: 'rnnstream-learning',
    title: 'rnnstream / Learning',
    description:
      'Prequential metrics of the stream workers against trivial baselines, training loss, and gradient clipping in the parameter server.',
    rows: [
      {
        title: 'Prequential metrics (scored before learning)',
        panels: [
          timeseries({
            title: 'Bits per token (lm)',
            description: `Mean -log2 p of the actual next token over 5 minutes, all workers together (recording rule rnnstream:prediction_bits_per_token:rate5m). The dashed line is the uniform baseline log2(${vocabSize}) = ${Math.log2(vocabSize).toFixed(3)} bits: a model at or above it has learned nothing. Empty for other tasks.`,
            unit: 'short',
            axisLabel: 'bits / token',
            min: 0,
            queries: [
              { expr: 'rnnstream:prediction_bits_per_token:rate5m', legend: 'model' },
              {
                expr: `log2(vector(${vocabSize}))`,
                legend: `uniform baseline log2(${vocabSize})`,
                dashed: true,
              },
            ],
          }),
          timeseries({
            title: 'Accuracy (tag, classify)',
            description:
              'Fraction of scored predictions whose most likely label was the actual one, over 5 minutes (rnnstream:prediction_accuracy:rate5m). Compare with the majority-class accuracy of `run --embedded` on a sample of the stream. 0 for lm and forecast.',
            unit: 'percentunit',
            min: 0,
            max: 1,
            queries: [{ expr: 'rnnstream:prediction_accuracy:rate5m', legend: 'model' }],
          }),
          timeseries({
            title: 'MSE (forecast, original units)',
            description:
              "Mean squared error of the forecast of the next feature vector, in the features' units, over 5 minutes (rnnstream:prediction_mse:rate5m). 0 for the other tasks.",
            unit: 'short',
            min: 0,
            queries: [{ expr: 'rnnstream:prediction_mse:rate5m', legend: 'model' }],
          }),
          timeseries({
            title: 'Scored predictions per second',
            description:
              'Predictions whose target was known, per worker: the denominator of the three figures above. A drop to 0 makes them empty.',
            unit: 'short',
            axisLabel: 'predictions / s',
            min: 0,
            queries: [
              {
                expr: 'sum by (instance) (rate(rnnstream_worker_scored_predictions_total[5m]))',
                legend: '{{instance}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Training',
        panels: [
          timeseries({
            title: 'Training loss (nats per token)',
            description:
              "Loss of the steps that entered gradients, over 5 minutes and over 1 hour (rnnstream:train_loss_nats:*); the RnnstreamTrainingLossRising alert fires when the first stays above 1.5 times the second. The latest step's loss per worker is noisier.",
            unit: 'short',
            axisLabel: 'nats / token',
            min: 0,
            queries: [
              { expr: 'rnnstream:train_loss_nats:rate5m', legend: '5m' },
              { expr: 'rnnstream:train_loss_nats:rate1h', legend: '1h' },
              { expr: 'rnnstream_worker_train_loss', legend: 'latest step {{instance}}' },
            ],
          }),
          timeseries({
            title: 'Gradient norm before clipping',
            description:
              "Global L2 norm of each round's token-weighted average gradient before clipping to clip.globalNorm (paramserver). A norm growing by orders of magnitude announces divergence: lower optimizer.learningRate.",
            unit: 'short',
            min: 0,
            queries: [
              ...quantiles('rnnstream_paramserver_preclip_global_norm'),
              { expr: 'rnnstream_paramserver_last_preclip_global_norm', legend: 'latest round' },
            ],
          }),
          timeseries({
            title: 'Clip ratio',
            description:
              'Scale applied to the latest round average by global-norm clipping: clip.globalNorm / norm, 1 when not clipped. Staying well below 1 means every update is clipped: the effective learning rate is lower than configured.',
            unit: 'short',
            min: 0,
            max: 1,
            queries: [{ expr: 'rnnstream_paramserver_clip_ratio', legend: 'clip ratio' }],
          }),
          timeseries({
            title: 'Training steps per second and tokens per step',
            description:
              'TBPTT steps per second per worker, and the mean number of tokens whose loss entered one step (ready keys times their pending steps): small steps waste the batch, see tbptt.maxKeys and tbptt.maxWaitMs.',
            unit: 'short',
            min: 0,
            queries: [
              {
                expr: 'sum by (instance) (rate(rnnstream_worker_train_steps_total[5m]))',
                legend: 'steps/s {{instance}}',
              },
              {
                expr: 'sum(rate(rnnstream_worker_train_step_tokens_sum[5m])) / sum(rate(rnnstream_worker_train_step_tokens_count[5m]))',
                legend: 'tokens per step (mean)',
              },
            ],
          }),
        ],
      },
    ],
  });
}
