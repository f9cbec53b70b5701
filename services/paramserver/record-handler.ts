import type { Logger } from '../../shared/logging/index.js';
import type {
  ChunkRejection as CountedRejection,
  ParamserverMetrics,
} from '../../shared/metrics/paramserver-metrics.js';
import type { GradientIntake, ParameterServer } from '../../shared/paramserver/index.js';
import type { KafkaBusRecord } from '../../shared/transport/kafka/index.js';

/**
 * Feeds one `<app>.gradients` record through the intake into the server, counting and logging
 * every outcome; bad records are reported and skipped, never thrown. Returns true when the record
 * completed a gradient that was accepted for the open round.
 */
export function createRecordHandler({
  server,
  intake,
  metrics,
  log,
}: {
  server: ParameterServer;
  intake: GradientIntake;
  metrics: ParamserverMetrics;
  log: Logger;
}): (record: KafkaBusRecord) => boolean {
  return (record) => {
    metrics.gradientBytesReceived.inc(record.value.length);
    const result = intake.add(record);
    const where = { partition: record.partition, offset: record.offset };
    switch (result.kind) {
      case 'partial':
      case 'ignored':
        return false;
      case 'duplicate':
        if (result.lastChunk) {
          metrics.gradientsDeduplicated.inc();
          log.debug(
            { ...where, workerId: result.workerId, step: result.step },
            'duplicate gradient skipped',
          );
        }
        return false;
      case 'rejected': {
        const kind: CountedRejection = result.rejection; // the counter has every intake rejection
        metrics.gradientChunksRejected.inc({ kind });
        log.warn({ ...where, kind, err: result.error }, 'gradient chunk rejected');
        return false;
      }
      case 'gradient': {
        metrics.gradientsReceived.inc();
        const { gradient, position } = result;
        const outcome = server.offer({ ...gradient, receivedAtMs: Date.now(), position });
        const id = {
          workerId: gradient.workerId,
          step: gradient.step,
          paramVersion: gradient.paramVersion,
        };
        if (outcome.kind === 'duplicate') {
          metrics.gradientsDeduplicated.inc();
          return false;
        }
        if (outcome.kind === 'accepted') {
          metrics.gradientStaleness.observe(outcome.staleness);
          return true;
        }
        metrics.gradientsDropped.inc({ reason: outcome.reason });
        if (outcome.staleness !== undefined) metrics.gradientStaleness.observe(outcome.staleness);
        if (outcome.reason === 'stale')
          log.debug({ ...id, detail: outcome.detail }, 'stale gradient dropped');
        else
          log.warn({ ...id, reason: outcome.reason, detail: outcome.detail }, 'gradient dropped');
        return false;
      }
    }
  };
}
