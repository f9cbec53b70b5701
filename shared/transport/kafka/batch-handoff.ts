/**
 * Hands batches from a push source (kafkajs' eachBatch callback) to a pull consumer (an async
 * iterator), one at a time, and tells the source when the consumer is done with each: `put`
 * resolves `true` when the consumer asks for the next batch (the previous one is processed, its
 * offsets may be committed) and `false` if the handoff ended first (not processed: do not commit).
 * One source and one consumer; at most one batch waits.
 */
export interface BatchHandoff<B> {
  put(batch: B): Promise<boolean>;
  /**
   * The next batch, or undefined once ended, or null if none came within `idleAfterMs`; throws
   * the error the handoff was ended with.
   */
  take(idleAfterMs?: number): Promise<B | undefined | null>;
  /** No more batches; a waiting or unprocessed batch counts as not processed. */
  end(error?: unknown): void;
  readonly ended: boolean;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export function createBatchHandoff<B>(): BatchHandoff<B> {
  let waiting: { batch: B; processed: Deferred<boolean> } | undefined;
  let inFlight: Deferred<boolean> | undefined;
  let wakeTaker: Deferred<void> | undefined;
  let ended = false;
  let endError: { error: unknown } | undefined;

  const wake = () => {
    wakeTaker?.resolve();
    wakeTaker = undefined;
  };

  return {
    get ended() {
      return ended;
    },
    put(batch) {
      if (ended) return Promise.resolve(false);
      // A previous batch still waiting would be a second source: treat it as not processed.
      waiting?.processed.resolve(false);
      waiting = { batch, processed: deferred<boolean>() };
      wake();
      return waiting.processed.promise;
    },
    async take(idleAfterMs) {
      inFlight?.resolve(true);
      inFlight = undefined;
      const idleAt = idleAfterMs === undefined ? undefined : Date.now() + idleAfterMs;
      for (;;) {
        if (endError !== undefined) throw endError.error;
        if (waiting !== undefined) {
          const { batch, processed } = waiting;
          waiting = undefined;
          inFlight = processed;
          return batch;
        }
        if (ended) return undefined;
        wakeTaker ??= deferred<void>();
        if (idleAt === undefined) await wakeTaker.promise;
        else if (!(await resolvedWithin(wakeTaker.promise, idleAt - Date.now()))) return null;
      }
    },
    end(error?: unknown) {
      if (error !== undefined && endError === undefined && !ended) endError = { error };
      ended = true;
      waiting?.processed.resolve(false);
      waiting = undefined;
      inFlight?.resolve(false);
      inFlight = undefined;
      wake();
    },
  };
}

/** Whether `promise` settles within `ms` (false once the time is up). */
async function resolvedWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
