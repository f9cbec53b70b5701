/**
 * Most worker ids the server remembers (in its liveness and in its progress) unless told
 * otherwise. Workers send under an id of their own per process start (`<host>-<pid>/<random>`),
 * so without a bound every restart of every worker, and every record under a made-up id, would
 * stay in memory and in each checkpoint for good. Forgetting a worker's progress lets a re-read
 * gradient of it count again, so the bound sits far above the workers one deployment runs at once.
 */
export const DEFAULT_MAX_TRACKED_WORKERS = 1024;

export function checkMaxWorkers(maxWorkers: number): number {
  if (!Number.isSafeInteger(maxWorkers) || maxWorkers < 1)
    throw new RangeError(`maxWorkers = ${maxWorkers}: must be a positive integer`);
  return maxWorkers;
}

/**
 * Forgets the workers heard from longest ago (`timeOf`; equal times: the smallest id first)
 * until `workers` holds fewer than `maxWorkers`, so that one more fits. The times are part of the
 * checkpoint, so a restored server forgets exactly what an uninterrupted one would.
 */
export function makeRoomForWorker<V>(
  workers: Map<string, V>,
  maxWorkers: number,
  timeOf: (entry: V) => number,
): void {
  while (workers.size >= maxWorkers) {
    let oldest: { id: string; at: number } | undefined;
    for (const [id, entry] of workers) {
      const at = timeOf(entry);
      if (oldest === undefined || at < oldest.at || (at === oldest.at && id < oldest.id))
        oldest = { id, at };
    }
    workers.delete(oldest!.id);
  }
}
