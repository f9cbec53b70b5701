import type { RecurrentModel } from '../model/recurrent-model.js';
import type { GradientSink, WorkerGradient } from '../tbptt/gradient-sink.js';
import { applyUpdate } from './apply-update.js';
import type { LearningRateSchedule } from './learning-rate-schedule.js';
import type { Optimizer } from './optimizer.js';

export interface UpdateReport {
  readonly version: number;
  readonly tokens: number;
  readonly preClipNorm: number;
  readonly clipScale: number;
}

/**
 * The parameter service's update rule, in process: average contributions weighted by tokens,
 * clip the average by global norm, apply the optimizer, bump the version. Embedded mode sends
 * every worker gradient here and it is applied at once (one worker, synchronous).
 */
export class LocalParameterService implements GradientSink {
  private readonly model: RecurrentModel;
  private readonly optimizer: Optimizer;
  private readonly learningRateAt: LearningRateSchedule;
  private readonly clipGlobalNorm: number;
  private readonly onUpdate: (report: UpdateReport) => void;
  private updates = 0;
  lastUpdate: UpdateReport | undefined;

  constructor({
    model,
    optimizer,
    learningRate,
    clipGlobalNorm,
    onUpdate,
  }: {
    model: RecurrentModel;
    optimizer: Optimizer;
    /** A constant, or a schedule over the number of updates applied so far. */
    learningRate: number | LearningRateSchedule;
    clipGlobalNorm: number;
    onUpdate?: (report: UpdateReport) => void;
  }) {
    this.model = model;
    this.optimizer = optimizer;
    this.learningRateAt = typeof learningRate === 'number' ? () => learningRate : learningRate;
    this.clipGlobalNorm = clipGlobalNorm;
    this.onUpdate = onUpdate ?? (() => {});
  }

  submit(gradient: WorkerGradient): void {
    this.applyRound([gradient]);
  }

  /** One round: average, clip after averaging, optimizer step, version + 1. Disposes the inputs. */
  applyRound(contributions: readonly WorkerGradient[]): UpdateReport {
    let applied;
    try {
      applied = applyUpdate({
        params: this.model.params,
        optimizer: this.optimizer,
        contributions: contributions.map((c) => ({ gradients: c.gradients, tokens: c.tokens })),
        clipGlobalNorm: this.clipGlobalNorm,
        learningRate: this.learningRateAt(this.updates),
      });
    } finally {
      for (const c of contributions) for (const g of c.gradients.values()) g.dispose();
    }
    this.updates++;
    this.model.params.version++;
    const report = {
      version: this.model.params.version,
      tokens: applied.tokens,
      preClipNorm: applied.preClipNorm,
      clipScale: applied.clipScale,
    };
    this.lastUpdate = report;
    this.onUpdate(report);
    return report;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
