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
