/** What closed a round: every live worker reported (sync), the deadline (sync), or arrival (async). */
export type RoundTrigger = 'all-live' | 'deadline' | 'arrival';

/** What a policy sees when asked whether the open round should close now. */
export interface RoundView {
  /** The current (latest published) version. */
  readonly version: number;
  /** Accepted gradients waiting for the round (≥ 1 when asked). */
  readonly pending: ReadonlyArray<{ readonly workerId: string; readonly paramVersion: number }>;
  /** Workers that sent a gradient within workerTimeoutMs, sorted. */
  readonly liveWorkers: readonly string[];
  /** When the round's first gradient was accepted. */
  readonly openedAtMs: number;
  readonly nowMs: number;
  /** No more gradients are at hand right now (the end of a consumed batch). */
  readonly arrivalsDone: boolean;
}

export interface RoundPolicy {
  readonly mode: 'sync' | 'async';
  due(view: RoundView): RoundTrigger | undefined;
  /** When a round opened at `openedAtMs` closes on time alone (undefined: never). */
  deadlineMs(openedAtMs: number): number | undefined;
}

/**
 * Synchronous rounds: close when every live worker — and at least `minWorkers` workers — has sent
 * a gradient computed on the current version (stale ones within the bound ride along but do not
 * count as the worker's report), or when `roundDeadlineMs` has passed since the round's first
 * gradient. Liveness is learnt from gradients, so right after a first start only `minWorkers`
 * keeps the first round from closing on the first gradient to arrive.
 */
export function syncRoundPolicy({
  roundDeadlineMs,
  minWorkers = 1,
}: {
  roundDeadlineMs: number;
  minWorkers?: number;
}): RoundPolicy {
  return {
    mode: 'sync',
    due({ version, pending, liveWorkers, openedAtMs, nowMs }) {
      const reported = new Set(
        pending.filter((g) => g.paramVersion === version).map((g) => g.workerId),
      );
      if (reported.size >= minWorkers && liveWorkers.every((w) => reported.has(w)))
        return 'all-live';
      return nowMs - openedAtMs >= roundDeadlineMs ? 'deadline' : undefined;
    },
    deadlineMs: (openedAtMs) => openedAtMs + roundDeadlineMs,
  };
}

/**
 * Asynchronous updates: every gradient is an update of its own, applied as soon as it is complete,
 * in arrival order (so a gradient's staleness is exactly the versions published since the one it
 * was computed on, and the number of updates never depends on how the consumer happened to batch
 * its fetches); staleness is bounded by the drop rule, not by waiting.
 */
export function asyncRoundPolicy(): RoundPolicy {
  return {
    mode: 'async',
    due: () => 'arrival',
    deadlineMs: () => undefined,
  };
}
