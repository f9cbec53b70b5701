/**
 * The decoder's bounded request queue with dynamic batching (Triton's dynamic batcher): a batch
 * is handed out once `maxBatchSize` items wait, or once the oldest has waited `maxWaitMs`. The
 * queue holds at most `capacity` items; `push` waits for room, so a busy decoder stops reading
 * from Kafka (requests wait in the topic, not in memory).
 */
export interface QueuedItem {
  /** The request's partition of `<app>.decode-requests` (for revocation). */
  readonly partition: number;
  /** When the item was queued (performance.now()). */
  readonly queuedAt: number;
}

export class RequestQueue<T extends QueuedItem> {
  private readonly items: T[] = [];
  private readonly capacity: number;
  private readonly maxBatchSize: number;
  private readonly maxWaitMs: number;
  private readonly roomWaiters: Array<() => void> = [];
  private itemWaiter: (() => void) | undefined;
  private closed = false;

  constructor({
    capacity,
    maxBatchSize,
    maxWaitMs,
  }: {
    capacity: number;
    maxBatchSize: number;
    maxWaitMs: number;
  }) {
    if (!(capacity >= maxBatchSize))
      throw new RangeError(
        `queue capacity ${capacity} is below maxBatchSize ${maxBatchSize}: a batch could never fill (fix: raise decoder.maxQueuedRequests or lower decoder.maxBatchSize)`,
      );
    this.capacity = capacity;
    this.maxBatchSize = maxBatchSize;
    this.maxWaitMs = maxWaitMs;
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds an item once there is room (resolves at once if there is). False if the queue closed. */
  async push(item: T): Promise<boolean> {
    while (!this.closed && this.items.length >= this.capacity)
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    if (this.closed) return false;
    this.items.push(item);
    this.wakeTaker();
    return true;
  }

  /**
   * The next batch, oldest first: up to maxBatchSize items, once that many wait or the oldest
   * has waited maxWaitMs. After close(), what is left comes out at once; then an empty batch.
   */
  async takeBatch(): Promise<T[]> {
    for (;;) {
      if (this.items.length >= this.maxBatchSize || (this.closed && this.items.length > 0))
        return this.take();
      if (this.closed) return [];
      if (this.items.length > 0) {
        const waitedMs = performance.now() - this.items[0]!.queuedAt;
        if (waitedMs >= this.maxWaitMs) return this.take();
        await this.nextItemOrTimeout(this.maxWaitMs - waitedMs);
      } else {
        await this.nextItemOrTimeout(Infinity);
      }
    }
  }

  /** Drops the items of partitions this decoder no longer owns (their new owner answers them). */
  dropPartitions(partitions: ReadonlySet<number>): number {
    let dropped = 0;
    for (let i = this.items.length - 1; i >= 0; i--) {
      if (partitions.has(this.items[i]!.partition)) {
        this.items.splice(i, 1);
        dropped++;
      }
    }
    if (dropped > 0) this.wakeRoom();
    return dropped;
  }

  /** No more pushes: takeBatch drains what is left, waiting pushes return false. */
  close(): void {
    this.closed = true;
    this.wakeTaker();
    this.wakeRoom();
  }

  private take(): T[] {
    const batch = this.items.splice(0, this.maxBatchSize);
    this.wakeRoom();
    return batch;
  }

  private nextItemOrTimeout(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
      function done(): void {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      }
      this.itemWaiter = done;
    });
  }

  private wakeTaker(): void {
    const waiter = this.itemWaiter;
    this.itemWaiter = undefined;
    waiter?.();
  }

  private wakeRoom(): void {
    while (this.roomWaiters.length > 0 && (this.closed || this.items.length < this.capacity))
      this.roomWaiters.shift()!();
  }
}
