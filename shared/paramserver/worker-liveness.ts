import { checkMaxWorkers, DEFAULT_MAX_TRACKED_WORKERS, makeRoomForWorker } from './worker-bound.js';

/**
 * When each worker last sent a gradient (this process' clock when the record was read). A worker
 * is live while that is at most `timeoutMs` ago; a sync round waits for every live worker. The
 * times are part of the checkpoint, so after a quick restart the workers of the last rounds are
 * still waited for (instead of the first gradient to arrive closing a round on its own). At most
 * `maxWorkers` are remembered: a new one beyond that replaces the one heard from longest ago.
 */
export class WorkerLiveness {
  private readonly timeoutMs: number;
  private readonly maxWorkers: number;
  private readonly lastSeen = new Map<string, number>();

  constructor({
    timeoutMs,
    lastSeenMs = {},
    maxWorkers = DEFAULT_MAX_TRACKED_WORKERS,
  }: {
    timeoutMs: number;
    lastSeenMs?: Readonly<Record<string, number>>;
    maxWorkers?: number;
  }) {
    this.timeoutMs = timeoutMs;
    this.maxWorkers = checkMaxWorkers(maxWorkers);
    for (const [workerId, at] of Object.entries(lastSeenMs)) this.seen(workerId, at);
  }

  seen(workerId: string, atMs: number): void {
    const last = this.lastSeen.get(workerId);
    if (last === undefined) makeRoomForWorker(this.lastSeen, this.maxWorkers, (at) => at);
    this.lastSeen.set(workerId, Math.max(atMs, last ?? atMs));
  }

  /** Live worker ids, sorted. Workers silent for longer are forgotten (they count again when heard from). */
  live(nowMs: number): string[] {
    const live: string[] = [];
    for (const [workerId, at] of this.lastSeen) {
      if (nowMs - at <= this.timeoutMs) live.push(workerId);
      else this.lastSeen.delete(workerId);
    }
    return live.sort();
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.lastSeen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
