import { RnnstreamError } from '../../shared/errors/index.js';
import type { FeatureNormalizerJson } from '../../shared/events/feature-normalizer.js';
import type { Logger } from '../../shared/logging/index.js';
import type { KeySequenceSnapshot } from '../../shared/tbptt/key-sequence.js';
import {
  createPartitionTail,
  type KafkaBusRecord,
  type KafkaClient,
  type PartitionTail,
} from '../../shared/transport/kafka/index.js';
import { abbreviate } from '../../shared/errors/abbreviate.js';
import { ChangelogPartitionStore, type SnapshotShape } from './changelog-partition-store.js';

export type { SnapshotShape };

/** How fresh a looked-up state is. */
export interface StateFreshness {
  readonly partition: number;
  /** The view's position in the changelog partition: every record below it is reflected. */
  readonly changelogOffset: number;
  /** The events offset of the key's last processed event (the record's inputOffset). */
  readonly keyInputOffset: number;
  /** The partition's progress: the first events offset the workers had not processed; -1 if none. */
  readonly eventsOffset: number;
  /** The key's sequence position (steps since it started or was last reset). */
  readonly position: number;
  /** The parameter version its state was computed with. */
  readonly stateParamVersion: number;
}

export interface KeyStateLookup {
  readonly snapshot: KeySequenceSnapshot;
  readonly freshness: StateFreshness;
}

/** A lookup in a partition this view does not hold, or holds but has not restored yet. */
export class StateViewError extends RnnstreamError {}

/**
 * The decoder's read-only view of `<app>.state-changelog` (Kafka Streams' interactive queries over
 * a standby store): for the changelog partitions whose request partitions this decoder owns, the
 * latest state of every key, restored from the beginning on assign() and then kept current by a
 * read_committed tail, so only committed worker transactions are ever seen. The parts: the tail
 * (shared/transport/kafka/partition-tail.ts) reads, a ChangelogPartitionStore per partition
 * holds, and the shared changelog readers (shared/learner/state-changelog.ts) decode and check
 * exactly as the worker's restore does. Never writes to Kafka.
 */
export class StateView {
  private readonly tail: PartitionTail;
  private readonly shape: SnapshotShape;
  private readonly logger: Logger;
  private readonly stores = new Map<number, ChangelogPartitionStore>();
  private readonly ready = new Set<number>();
  private readonly restoring = new Map<number, Promise<void>>();
  /** Corrupt records of partitions since released (so the total never goes down). */
  private releasedCorrupt = 0;

  constructor({
    client,
    topic,
    shape,
    logger,
    maxWaitTimeInMs = 250,
  }: {
    client: KafkaClient;
    /** `<app>.state-changelog` (topicNames(app).stateChangelog). */
    topic: string;
    /** The model's shapes: a key state it cannot use is skipped and counted. */
    shape: SnapshotShape;
    logger: Logger;
    maxWaitTimeInMs?: number;
  }) {
    this.shape = shape;
    this.logger = logger.child({ component: 'state-view' });
    this.tail = createPartitionTail({
      client,
      topic,
      maxWaitTimeInMs,
      logger: this.logger,
      onRecords: (records) => this.apply(records),
    });
  }

  /**
   * Starts holding `partitions` (those already held are left alone): restores each from the
   * changelog's beginning up to its read_committed end, then keeps tailing it. Resolves when all
   * are ready; a partition released meanwhile is simply dropped.
   */
  async assign(partitions: readonly number[]): Promise<void> {
    const added = partitions.filter((p) => !this.stores.has(p));
    for (const partition of added)
      this.stores.set(
        partition,
        new ChangelogPartitionStore({
          partition,
          shape: this.shape,
          onCorrupt: (key, error) =>
            this.logger.warn(
              { partition, key: abbreviate(key, 200), err: error },
              'state changelog record is corrupt or unusable by this model: skipped',
            ),
        }),
      );
    if (added.length === 0) {
      await Promise.all(partitions.map((p) => this.restoring.get(p)));
      return;
    }
    const stores = new Map(added.map((p) => [p, this.stores.get(p)!]));
    const restore = this.tail.follow(added, { from: 'beginning' }).then(
      () => {
        for (const [p, store] of stores) if (this.stores.get(p) === store) this.ready.add(p);
        this.logger.info(
          { partitions: added, keys: [...stores.values()].reduce((n, s) => n + s.size, 0) },
          'state view restored',
        );
      },
      (error: unknown) => {
        this.release(added.filter((p) => this.stores.get(p) === stores.get(p)));
        throw error;
      },
    );
    for (const p of added) this.restoring.set(p, restore);
    const settled = () => {
      for (const p of added) if (this.restoring.get(p) === restore) this.restoring.delete(p);
    };
    restore.then(settled, settled);
    await Promise.all([restore, ...partitions.map((p) => this.restoring.get(p))]);
  }

  /** Stops holding `partitions` and forgets their keys. */
  release(partitions: readonly number[]): void {
    this.tail.unfollow(partitions);
    for (const p of partitions) {
      this.releasedCorrupt += this.stores.get(p)?.corrupt ?? 0;
      this.stores.delete(p);
      this.ready.delete(p);
      this.restoring.delete(p);
    }
  }

  /** Held and restored: lookups answer from it. */
  isReady(partition: number): boolean {
    return this.ready.has(partition);
  }

  /** The partitions held (ready or restoring), ascending. */
  partitions(): number[] {
    return [...this.stores.keys()].sort((a, b) => a - b);
  }

  /**
   * The latest committed state of `key` in changelog `partition` (the partition the key hashes
   * to), or undefined when the key was never seen, was evicted, or its record is corrupt or
   * unusable (counted in corruptRecords). A partition not held, or still restoring, is a
   * StateViewError (retriable while restoring).
   */
  lookup(key: string, partition: number): KeyStateLookup | undefined {
    const store = this.readyStore(partition);
    const found = store.lookup(key);
    if (found === undefined) return undefined;
    const { record, snapshot } = found;
    return {
      snapshot,
      freshness: {
        partition,
        changelogOffset: this.tail.position(partition) ?? -1,
        keyInputOffset: record.inputOffset,
        eventsOffset: store.eventsOffset,
        position: record.position,
        stateParamVersion: record.paramVersion,
      },
    };
  }

  /** The feature normaliser's statistics of `partition` (features input), undefined if none. */
  normalizer(partition: number): FeatureNormalizerJson | undefined {
    return this.readyStore(partition).normalizer();
  }

  /**
   * Read-your-writes: resolves once the view reflects every worker transaction committed before
   * the call (waiting for a restore in progress first). Rejects with a retriable
   * KafkaTransportError after `timeoutInMs`, e.g. while a worker's transaction stays open.
   */
  async catchUp(
    partitions: readonly number[],
    { timeoutInMs }: { timeoutInMs: number },
  ): Promise<void> {
    const started = Date.now();
    for (const p of partitions) if (!this.stores.has(p)) this.readyStore(p);
    await Promise.all(partitions.map((p) => this.restoring.get(p)));
    await this.tail.catchUp(partitions, {
      timeoutInMs: Math.max(0, timeoutInMs - (Date.now() - started)),
    });
  }

  /** Per held partition, changelog offsets written but not yet reflected (a metric). */
  lagOffsets(): Promise<Map<number, number>> {
    return this.tail.lagOffsets();
  }

  /** Records skipped as corrupt or unusable since the view started. */
  get corruptRecords(): number {
    return [...this.stores.values()].reduce((n, s) => n + s.corrupt, this.releasedCorrupt);
  }

  /** Live keys held across the partitions. */
  get keys(): number {
    return [...this.stores.values()].reduce((n, s) => n + s.size, 0);
  }

  async stop(): Promise<void> {
    await this.tail.stop();
    this.stores.clear();
    this.ready.clear();
  }

  private apply(records: readonly KafkaBusRecord[]): void {
    const store = this.stores.get(records[0]!.partition);
    if (store) for (const record of records) store.apply(record);
  }

  private readyStore(partition: number): ChangelogPartitionStore {
    const store = this.stores.get(partition);
    if (store === undefined)
      throw new StateViewError(
        `changelog partition ${partition} is not held by this state view (it holds ${this.partitions().join(', ') || 'none'}) (fix: route the request to the decoder that owns request partition ${partition}, or assign() it)`,
        { retriable: false },
      );
    if (!this.ready.has(partition))
      throw new StateViewError(
        `changelog partition ${partition} is still being restored (fix: retry once isReady(${partition}), or await assign())`,
        { retriable: true },
      );
    return store;
  }
}
