import type { KeySequence } from './key-sequence.js';

export type EvictionReason = 'ttl' | 'capacity';

/**
 * Live keys in least-recently-seen order (a Map re-inserted on every touch), with TTL and
 * max-keys eviction. The eviction hook lets the owner write a changelog tombstone or count
 * untrained steps; the store itself never loses a key silently.
 */
export class KeyStore {
  private readonly keys = new Map<string, KeySequence>();
  private readonly ttlMs: number;
  private readonly maxKeys: number;
  private readonly onEvict: (key: KeySequence, reason: EvictionReason) => void;
  /** lastSeenMs of the young end; a key restored older than it puts the order out of date. */
  private youngestMs = -Infinity;
  private ordered = true;

  constructor({
    ttlMs,
    maxKeys,
    onEvict,
  }: {
    ttlMs: number;
    maxKeys: number;
    onEvict?: (key: KeySequence, reason: EvictionReason) => void;
  }) {
    this.ttlMs = ttlMs;
    this.maxKeys = maxKeys;
    this.onEvict = onEvict ?? (() => {});
  }

  get size(): number {
    return this.keys.size;
  }

  get(key: string): KeySequence | undefined {
    return this.keys.get(key);
  }

  /** Marks a key as just seen (moves it to the young end) and stores it if new. */
  touch(sequence: KeySequence, nowMs: number): void {
    sequence.lastSeenMs = nowMs;
    this.keys.delete(sequence.key);
    this.keys.set(sequence.key, sequence);
    if (nowMs < this.youngestMs) this.ordered = false;
    else this.youngestMs = nowMs;
  }

  /**
   * Puts a key restored from the changelog back with the last-seen time it had, so it is evicted
   * when that time plus ttlMs has passed — not kept as if it had just been seen.
   */
  restore(sequence: KeySequence, lastSeenMs: number): void {
    this.touch(sequence, lastSeenMs);
  }

  /** Ms until the next eviction is due (0: now); undefined with no keys. */
  evictionDueInMs(nowMs: number): number | undefined {
    if (this.keys.size === 0) return undefined;
    if (this.keys.size > this.maxKeys) return 0;
    this.order();
    const oldest = this.keys.values().next().value as KeySequence;
    return Math.max(0, oldest.lastSeenMs + this.ttlMs - nowMs);
  }

  delete(key: string): boolean {
    return this.keys.delete(key);
  }

  /** Evicts keys idle longer than ttlMs, then the least recently seen beyond maxKeys. */
  evict(nowMs: number): number {
    this.order();
    let evicted = 0;
    for (const sequence of this.keys.values()) {
      const overCapacity = this.keys.size > this.maxKeys;
      const expired = nowMs - sequence.lastSeenMs > this.ttlMs;
      if (!overCapacity && !expired) break; // the rest are younger
      this.keys.delete(sequence.key);
      this.onEvict(sequence, expired ? 'ttl' : 'capacity');
      evicted++;
    }
    return evicted;
  }

  /** Bytes of the per-key arrays held (KeySequence.byteLength summed: a walk over every key). */
  byteLength(): number {
    let bytes = 0;
    for (const sequence of this.keys.values()) bytes += sequence.byteLength();
    return bytes;
  }

  /** Least recently seen first again, after keys were restored out of order. */
  private order(): void {
    if (this.ordered) return;
    const sorted = [...this.keys.values()].sort((a, b) => a.lastSeenMs - b.lastSeenMs);
    this.keys.clear();
    for (const sequence of sorted) this.keys.set(sequence.key, sequence);
    this.ordered = true;
  }

  values(): IterableIterator<KeySequence> {
    return this.keys.values();
  }
}
