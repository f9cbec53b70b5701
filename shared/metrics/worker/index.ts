import type { Registry } from 'prom-client';

import { batchDurationSeconds } from './batch-duration.js';
import { changelogRecordsTotal } from './changelog-records.js';
import { consumerRestartsTotal } from './consumer-restarts.js';
import { deadLettersTotal } from './dead-letters.js';
import { eventsAlreadyProcessedTotal } from './events-already-processed.js';
import { eventsProcessedTotal } from './events-processed.js';
import { evictedKeysTotal } from './evicted-keys.js';
import { liveKeys } from './live-keys.js';
import { ownedPartitions } from './owned-partitions.js';
import { paramVersion } from './param-version.js';
import { restoreDurationSeconds } from './restore-duration.js';
import { restoreRecordsTotal } from './restore-records.js';
import { restoreRemainingOffsets } from './restore-remaining-offsets.js';
import { restoredKeysTotal } from './restored-keys.js';
import { trainLoss } from './train-loss.js';
import { trainStepsTotal } from './train-steps.js';
import { trainedTokensTotal } from './trained-tokens.js';
import { transactionDurationSeconds } from './transaction-duration.js';
import { transactionFailuresTotal } from './transaction-failures.js';
import { transactionsTotal } from './transactions.js';

/** The worker's metric families, registered in `registry`. */
export function createWorkerMetrics(registry: Registry) {
  return {
    eventsProcessed: eventsProcessedTotal(registry),
    deadLetters: deadLettersTotal(registry),
    eventsAlreadyProcessed: eventsAlreadyProcessedTotal(registry),
    transactions: transactionsTotal(registry),
    transactionFailures: transactionFailuresTotal(registry),
    batchDuration: batchDurationSeconds(registry),
    transactionDuration: transactionDurationSeconds(registry),
    changelogRecords: changelogRecordsTotal(registry),
    evictedKeys: evictedKeysTotal(registry),
    liveKeys: liveKeys(registry),
    ownedPartitions: ownedPartitions(registry),
    restoreDuration: restoreDurationSeconds(registry),
    restoredKeys: restoredKeysTotal(registry),
    restoreRecords: restoreRecordsTotal(registry),
    restoreRemainingOffsets: restoreRemainingOffsets(registry),
    trainSteps: trainStepsTotal(registry),
    trainedTokens: trainedTokensTotal(registry),
    trainLoss: trainLoss(registry),
    paramVersion: paramVersion(registry),
    consumerRestarts: consumerRestartsTotal(registry),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
