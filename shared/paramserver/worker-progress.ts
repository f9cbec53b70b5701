/** Per worker: the highest processed step and the processed steps within `window` below it. */
export type WorkerProgressSnapshot = Readonly<
  Record<string, { readonly highest: number; readonly recent: readonly number[] }>
>;

/**
 * Which (worker, step) gradients were processed (applied, or dropped for good), so that a retried
 * send or a re-read after a restart is never applied twice. Bounded: per worker the highest step
 * and the set of processed steps in (highest − window, highest]; a step at or below
 * highest − window counts as processed. Workers send in step order on one partition (their id is
 * the record key), so a gap of `window` steps is never a gradient still to come.
 *
 * Contract for workers: a worker id never reuses a step number, also across its restarts.
 */
export class WorkerProgress {
  private readonly window: number;
  private readonly workers = new Map<string, { highest: number; recent: Set<number> }>();

  constructor({
    window = 1024,
    snapshot = {},
  }: { window?: number; snapshot?: WorkerProgressSnapshot } = {}) {
    if (!Number.isSafeInteger(window) || window < 1)
      throw new RangeError(`window = ${window}: must be a positive integer`);
    this.window = window;
    for (const [workerId, { highest, recent }] of Object.entries(snapshot))
      this.workers.set(workerId, { highest, recent: new Set(recent) });
  }

  has(workerId: string, step: number): boolean {
    const worker = this.workers.get(workerId);
    if (worker === undefined) return false;
    return step <= worker.highest - this.window || worker.recent.has(step);
  }

  record(workerId: string, step: number): void {
    let worker = this.workers.get(workerId);
    if (worker === undefined) {
      worker = { highest: step, recent: new Set() };
      this.workers.set(workerId, worker);
    }
    worker.recent.add(step);
    if (step > worker.highest) {
      worker.highest = step;
      const floor = step - this.window;
      for (const s of worker.recent) if (s <= floor) worker.recent.delete(s);
    }
  }

  /** Plain JSON, workers and steps sorted (the same progress always serialises the same way). */
  snapshot(): WorkerProgressSnapshot {
    const out: Record<string, { highest: number; recent: number[] }> = {};
    for (const workerId of [...this.workers.keys()].sort()) {
      const { highest, recent } = this.workers.get(workerId)!;
      out[workerId] = { highest, recent: [...recent].sort((a, b) => a - b) };
    }
    return out;
  }
}
