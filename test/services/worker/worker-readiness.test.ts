/**
 * What the worker's /readyz says around a Kafka failure: unready from the failure on, ready again
 * as soon as the group has been rejoined and the partitions restored — not only at the next
 * committed batch, which a worker whose partitions have nothing left to read never commits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createLogger } from '../../../shared/logging/logger.js';
import { ServiceProbes } from '../../../shared/metrics/probes.js';
import { WorkerMetricsReporter } from '../../../services/worker/worker-metrics-reporter.js';

test('a worker that rejoined its group after a Kafka failure is ready again before its next batch', () => {
  const probes = new ServiceProbes({ conditions: { group: 'joining the consumer group' } });
  const reporter = new WorkerMetricsReporter({
    workerId: 'w1',
    metrics: undefined,
    logger: createLogger({ name: 'test', level: 'silent' }),
    now: () => 0,
    progressIntervalMs: 60_000,
    onBatch: undefined,
    onRestore: undefined,
    probes,
  });
  reporter.assigned([0, 1]);
  assert.deepEqual(probes.readiness(), { ok: true, reasons: [] });

  reporter.consumerRestarted(new Error('Failed to find group coordinator'));
  const during = probes.readiness();
  assert.equal(during.ok, false);
  assert.match(during.reasons.join('\n'), /kafka: failing: Failed to find group coordinator/);
  assert.match(during.reasons.join('\n'), /group: rejoining/);

  reporter.assigned([1]);
  assert.deepEqual(probes.readiness(), { ok: true, reasons: [] });
});
