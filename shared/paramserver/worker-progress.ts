import { checkMaxWorkers, DEFAULT_MAX_TRACKED_WORKERS, makeRoomForWorker } from './worker-bound.js';

/** Per worker: the highest processed step, the processed steps within `window` below it, and when. */
export type WorkerProgressSnapshot = Readonly<
  Record<
    string,
    {
      readonly highest: number;
      readonly recent: readonly number[];
      /** When its latest gradient was processed (absent in checkpoints from before: 0). */
      readonly processedAtMs?: number;
    }
  >
>;

interface Progress {
  highest: number;
  recent: Set<number>;
  processedAtMs: number;
}

/**
 * Which (worker, step) gradients were processed (applied, or dropped for good), so that a retried
 * send or a re-read after a restart is never applied twice. Bounded: per worker the highest step
 * and the set of processed steps in (highest − window, highest]; a step at or below
 * highest − window counts as processed. Workers send in step order on one partition (their id is
 * the record key), so a gap of `window` steps is never a gradient still to come.
 *
 * Also bounded in workers: at most `maxWorkers`; a new one beyond that replaces the worker whose
 * latest gradient was processed longest ago (see worker-bound.ts).
 *
 * Contract for workers: a worker id never reuses a step number, also across its restarts.
 */
export class WorkerProgress {
  private readonly window: number;
  private readonly maxWorkers: number;
  private readonly workers = new Map<string, Progress>();

  constructor({
    window = 1024,
    maxWorkers = DEFAULT_MAX_TRACKED_WORKERS,
    snapshot = {},
  }: { window?: number; maxWorkers?: number; snapshot?: WorkerProgressSnapshot } = {}) {
    if (!Number.isSafeInteger(window) || window < 1)
      throw new RangeError(`window = ${window}: must be a positive integer`);
    this.window = window;
    this.maxWorkers = checkMaxWorkers(maxWorkers);
    for (const [workerId, { highest, recent, processedAtMs = 0 }] of Object.entries(snapshot)) {
      makeRoomForWorker(this.workers, this.maxWorkers, (w) => w.processedAtMs);
      this.workers.set(workerId, { highest, recent: new Set(recent), processedAtMs });
    }
  }

  has(workerId: string, step: number): boolean {
    const worker = this.workers.get(workerId);
    if (worker === undefined) return false;
    return step <= worker.highest - this.window || worker.recent.has(step);
  }

  /** (workerId, step) is processed, at `atMs` (the clock its gradient was read by). */
  record(workerId: string, step: number, atMs: number): void {
    let worker = this.workers.get(workerId);
    if (worker === undefined) {
      makeRoomForWorker(this.workers, this.maxWorkers, (w) => w.processedAtMs);
      worker = { highest: step, recent: new Set(), processedAtMs: atMs };
      this.workers.set(workerId, worker);
    }
    worker.processedAtMs = Math.max(worker.processedAtMs, atMs);
    worker.recent.add(step);
    if (step > worker.highest) {
      worker.highest = step;
      const floor = step - this.window;
      for (const s of worker.recent) if (s <= floor) worker.recent.delete(s);
    }
  }

  /** Plain JSON, workers and steps sorted (the same progress always serialises the same way). */
  snapshot(): WorkerProgressSnapshot {
    const out: Record<string, { highest: number; recent: number[]; processedAtMs: number }> = {};
    for (const workerId of [...this.workers.keys()].sort()) {
      const { highest, recent, processedAtMs } = this.workers.get(workerId)!;
      out[workerId] = { highest, recent: [...recent].sort((a, b) => a - b), processedAtMs };
    }
    return out;
  }
}
