import type { DecodedParams, GradientId } from '../../shared/codec/param-codec.js';

/**
 * Lockstep training (`--params-lockstep-ms`): after a transaction that sent gradients, the worker
 * waits here until a published version applied them before it predicts or trains on the next
 * event — synchronous SGD's lockstep, so every event after a window sees the parameters that
 * window produced, as in a single-process learner (a bound on staleness in async mode).
 */
export class LockstepGate {
  private readonly gradientSource: string;
  private readonly staleness: number;
  readonly timeoutMs: number;
  private readonly signal: AbortSignal;
  /** Steps of our gradients that published versions applied and no wait has settled yet. */
  private readonly appliedOwnSteps = new Set<number>();
  /** Steps only grow, so one settled bound keeps the set to the gradients in flight. */
  private settledThroughStep = -1;
  private newestVersion = 0;
  private readonly waiters: Array<() => void> = [];

  constructor({
    gradientSource,
    staleness,
    timeoutMs,
    signal,
  }: {
    /** The id our gradients carry (versions list the gradients they applied by it). */
    gradientSource: string;
    /** The paramserver's staleness bound: gradients further behind are dropped, not applied. */
    staleness: number;
    timeoutMs: number;
    /** The worker is stopping: waits end at once. */
    signal: AbortSignal;
  }) {
    this.gradientSource = gradientSource;
    this.staleness = staleness;
    this.timeoutMs = timeoutMs;
    this.signal = signal;
    signal.addEventListener('abort', () => this.wake());
  }

  /** Every published version: which of our gradients it applied; wakes the waits. */
  observe(decoded: DecodedParams): void {
    for (const g of decoded.applied ?? [])
      if (g.workerId === this.gradientSource && g.step > this.settledThroughStep)
        this.appliedOwnSteps.add(g.step);
    this.newestVersion = Math.max(this.newestVersion, decoded.version);
    this.wake();
  }

  /**
   * Whether, within timeoutMs, every gradient in `sent` (computed on `version`) went into a
   * published version — or versions moved more than the staleness bound past `version`, so the
   * server dropped what it had not applied — or the worker is stopping.
   */
  async waitUntilApplied({
    sent,
    version,
  }: {
    sent: readonly GradientId[];
    version: number;
  }): Promise<boolean> {
    const deadline = performance.now() + this.timeoutMs;
    const settled = () =>
      sent.every((g) => this.appliedOwnSteps.has(g.step)) ||
      this.newestVersion > version + this.staleness;
    while (!settled() && !this.signal.aborted) {
      const left = deadline - performance.now();
      if (left <= 0) return this.settle(sent, false);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.settle(sent, true);
  }

  private settle(sent: readonly GradientId[], applied: boolean): boolean {
    this.settledThroughStep = Math.max(this.settledThroughStep, ...sent.map((g) => g.step));
    for (const step of this.appliedOwnSteps)
      if (step <= this.settledThroughStep) this.appliedOwnSteps.delete(step);
    return applied;
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
