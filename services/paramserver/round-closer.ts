import type { RoundReport, RoundTrigger } from '../../shared/paramserver/index.js';
import { persistAndPublish } from './persist-version.js';
import type { GradientReader } from './gradient-reader.js';
import type { RestoredServer } from './restore-server.js';
import type { ServiceContext } from './service-context.js';

export interface RoundTiming {
  /** Average + clip + optimizer step. */
  readonly updateMs: number;
  /** Checkpoint and publish, from the update's end to the commit. */
  readonly persistMs: number;
  readonly paramBytes: number;
  readonly checkpointBytes: number;
}

/** Closes rounds: applies the pending gradients, then makes the new version durable and visible. */
export interface RoundCloser {
  closeRound(trigger: RoundTrigger): Promise<void>;
  /** Rounds closed since the start. */
  readonly rounds: number;
}

/**
 * Publication: every round applied is checkpointed and published with the gradient offsets a
 * restart must resume from (persist-version.ts), then counted, logged and told to `onRound`.
 */
export function createRoundCloser(
  context: ServiceContext,
  { server, publisher, checkpoints }: RestoredServer,
  { intake }: GradientReader,
  onRound: ((report: RoundReport, timing: RoundTiming) => void) | undefined,
): RoundCloser {
  const { modelId, spec } = context;
  let rounds = 0;
  return {
    get rounds() {
      return rounds;
    },
    async closeRound(trigger) {
      const started = performance.now();
      const report = server.applyRound(trigger);
      const updated = performance.now();
      const { paramBytes, checkpointBytes } = await persistAndPublish({
        state: server.stateView(),
        applied: report.applied,
        gradientOffsets: intake.resumeOffsets(server.pendingPositions()),
        modelId,
        spec,
        checkpoints,
        publisher,
      });
      const done = performance.now();
      const timing = {
        updateMs: updated - started,
        persistMs: done - updated,
        paramBytes,
        checkpointBytes,
      };
      rounds++;
      reportRound(context, { report, timing, rounds, roundMs: done - started });
      onRound?.(report, timing);
    },
  };
}

/** A closed round in the metrics and the log (a progress line every `progressEveryRounds`). */
function reportRound(
  { config, metrics, log }: ServiceContext,
  {
    report,
    timing,
    rounds,
    roundMs,
  }: { report: RoundReport; timing: RoundTiming; rounds: number; roundMs: number },
): void {
  metrics.roundDuration.observe(roundMs / 1000);
  metrics.rounds.inc({ trigger: report.trigger });
  metrics.paramVersion.set(report.version);
  metrics.preclipGlobalNorm.observe(report.preClipNorm);
  metrics.lastPreclipGlobalNorm.set(report.preClipNorm);
  metrics.clipRatio.set(report.clipScale);
  metrics.paramBytesPublished.inc(timing.paramBytes);
  log.debug({ ...report, ...timing }, 'round applied');
  if (rounds % config.paramserver.progressEveryRounds !== 0) return;
  log.info(
    {
      version: report.version,
      rounds,
      gradients: report.gradients,
      workers: report.workers.length,
      meanLoss: report.lossSum / report.tokens,
      preClipNorm: report.preClipNorm,
      clipScale: report.clipScale,
      learningRate: report.learningRate,
      roundMs: Math.round(roundMs),
      updateMs: Math.round(timing.updateMs),
      persistMs: Math.round(timing.persistMs),
    },
    `version ${report.version}: ${rounds} rounds since start`,
  );
}
