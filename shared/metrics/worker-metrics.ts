import type { Registry } from 'prom-client';
import { counter, gauge, histogram, registerFamilies } from './families.js';

/** The stream worker's metric families (`rnnstream worker --metrics-port`), one row each. */
export const WORKER_FAMILIES = {
  eventsProcessed: counter({
    name: 'rnnstream_worker_events_total',
    help: 'Events predicted and learned from (committed batches).',
  }),
  deadLetters: counter({
    name: 'rnnstream_worker_dead_letters_total',
    help: 'Malformed events sent to the dead-letter topic instead of being processed.',
  }),
  eventsAlreadyProcessed: counter({
    name: 'rnnstream_worker_events_already_processed_total',
    help: 'Events skipped because a committed transaction had already processed them (redelivery after a rebalance or restart): only their offsets commit.',
  }),
  transactions: counter({
    name: 'rnnstream_worker_transactions_total',
    help: 'Batches committed as one Kafka transaction (changelog + predictions + dead letters + gradients + offsets).',
  }),
  transactionFailures: counter({
    name: 'rnnstream_worker_transaction_failures_total',
    help: 'Batches whose transaction failed (aborted or fenced): the worker drops its partitions and rejoins the group.',
  }),
  batchDuration: histogram({
    name: 'rnnstream_worker_batch_duration_seconds',
    unit: 'seconds',
    help: 'Seconds to process one batch: decode, predict, train, build records, commit the transaction.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  transactionDuration: histogram({
    name: 'rnnstream_worker_transaction_duration_seconds',
    unit: 'seconds',
    help: 'Seconds from beginning a batch transaction to its commit (sends, offsets, commit).',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
  changelogRecords: counter({
    name: 'rnnstream_worker_changelog_records_total',
    help: 'Records written to the state changelog (key states, tombstones, progress).',
  }),
  evictedKeys: counter({
    name: 'rnnstream_worker_evicted_keys_total',
    help: 'Keys evicted (TTL or state.maxKeys); each writes a changelog tombstone.',
  }),
  liveKeys: gauge({
    name: 'rnnstream_worker_live_keys',
    help: 'Keys held in memory across the owned partitions.',
  }),
  ownedPartitions: gauge({
    name: 'rnnstream_worker_owned_partitions',
    help: 'Partitions of the events topic this worker owns and has restored.',
  }),
  restoreDuration: histogram({
    name: 'rnnstream_worker_restore_duration_seconds',
    unit: 'seconds',
    help: 'Seconds to restore newly assigned partitions from the state changelog before serving them.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  }),
  restoredKeys: counter({
    name: 'rnnstream_worker_restored_keys_total',
    help: 'Keys restored from the state changelog.',
  }),
  restoreRecords: counter({
    name: 'rnnstream_worker_restore_records_total',
    help: 'State changelog records read while restoring.',
  }),
  restoreRemainingOffsets: gauge({
    name: 'rnnstream_worker_restore_remaining_offsets',
    help: 'Changelog offsets still to read by the restore in progress (0 when none runs).',
  }),
  trainSteps: counter({
    name: 'rnnstream_worker_train_steps_total',
    help: 'TBPTT training steps (each sends one gradient).',
  }),
  trainedTokens: counter({
    name: 'rnnstream_worker_trained_tokens_total',
    help: 'Steps whose loss entered a gradient.',
  }),
  // In nats; renaming a published family would break its dashboards and alerts.
  trainLoss: gauge({
    name: 'rnnstream_worker_train_loss',
    help: 'Mean loss per token of the latest training step (nats).',
  }),
  consumerLag: gauge({
    name: 'rnnstream_worker_consumer_lag_offsets',
    unit: 'offsets',
    help: 'Offsets of an owned events partition not yet consumed: its high watermark after the last fetched batch (transaction markers count).',
    labels: { name: 'partition', values: [] },
  }),
  scoredPredictions: counter({
    name: 'rnnstream_worker_scored_predictions_total',
    help: 'Prequential predictions whose target was known (lm: every token; tag: labelled steps; classify: labelled eos; forecast: known next vector).',
  }),
  predictionBits: counter({
    name: 'rnnstream_worker_prediction_bits_total',
    unit: 'bits',
    help: 'lm: bits spent on the actual tokens before learning from them; / scored_predictions_total = bits per token.',
  }),
  correctPredictions: counter({
    name: 'rnnstream_worker_correct_predictions_total',
    help: 'tag / classify: predictions whose most likely label was the actual one; / scored_predictions_total = accuracy.',
  }),
  predictionSquaredError: counter({
    name: 'rnnstream_worker_prediction_squared_error_total',
    help: "forecast: sum of each prediction's mean squared error in the features' units; / scored_predictions_total = MSE.",
  }),
  trainLossNats: counter({
    name: 'rnnstream_worker_train_loss_nats_total',
    unit: 'nats',
    help: 'Training loss summed over the steps that entered gradients (nats); / trained_tokens_total = running training loss.',
  }),
  trainStepTokens: histogram({
    name: 'rnnstream_worker_train_step_tokens',
    help: 'Steps whose loss entered one training step (the batch of ready keys times their pending steps).',
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536],
  }),
  stateBytes: gauge({
    name: 'rnnstream_worker_state_bytes',
    unit: 'bytes',
    help: 'Bytes of per-key state arrays held (recurrent states, window-start states, pending steps), updated at most every 5 s.',
  }),
  gradientBytesSent: counter({
    name: 'rnnstream_worker_gradient_bytes_sent_total',
    unit: 'bytes',
    help: 'Bytes of gradient records sent to <app>.gradients.',
  }),
  paramVersion: gauge({
    name: 'rnnstream_worker_param_version',
    help: 'Parameter version the worker predicts and trains with.',
  }),
  consumerRestarts: counter({
    name: 'rnnstream_worker_consumer_restarts_total',
    help: 'Times the worker dropped its partitions and rejoined the group after a Kafka failure.',
  }),
};

/** The worker's metric families, registered in `registry`. */
export function createWorkerMetrics(registry: Registry) {
  return registerFamilies(registry, WORKER_FAMILIES);
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** One training step (the Kafka worker's and the embedded run's). */
export function recordTrainStep(
  m: WorkerMetrics,
  { tokens, lossSum }: { readonly tokens: number; readonly lossSum: number },
): void {
  m.trainSteps.inc();
  m.trainedTokens.inc(tokens);
  m.trainLossNats.inc(lossSum);
  m.trainStepTokens.observe(tokens);
  if (tokens > 0) m.trainLoss.set(lossSum / tokens);
}

/** A batch's prequential predictions, summed (shared/evaluation tallyPredictions). */
export function recordPredictions(
  m: WorkerMetrics,
  tally: {
    readonly scored: number;
    readonly bits: number;
    readonly correct: number;
    readonly squaredError: number;
  },
): void {
  m.scoredPredictions.inc(tally.scored);
  m.predictionBits.inc(tally.bits);
  m.correctPredictions.inc(tally.correct);
  m.predictionSquaredError.inc(tally.squaredError);
}

/**
 * Live keys and the parameter version at every call; state bytes at most every 5 s, because
 * summing them walks every key. The Kafka worker's and the embedded run's view of their keys.
 */
export class KeyStateGauges {
  private stateBytesAtMs = -Infinity;

  constructor(
    private readonly m: WorkerMetrics,
    private readonly now: () => number,
  ) {}

  observe({
    keys,
    paramVersion,
    stateBytes,
  }: {
    keys: number;
    paramVersion: number;
    stateBytes: () => number;
  }): void {
    this.m.liveKeys.set(keys);
    this.m.paramVersion.set(paramVersion);
    const t = this.now();
    if (t - this.stateBytesAtMs < 5_000) return;
    this.m.stateBytes.set(stateBytes());
    this.stateBytesAtMs = t;
  }
}
