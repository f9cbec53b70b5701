import { abbreviate } from '../../shared/errors/abbreviate.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  createTransactionalProducer,
  readPartitionsToEnd,
  topicEndOffsets,
  withKafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
  type TopicNames,
  type TransactionalProducer,
} from '../../shared/transport/kafka/index.js';
import { ChangelogFold } from '../../shared/learner/state-changelog.js';
import type { OpenPartition, OwnedPartition } from './owned-partition.js';
import type { WorkerMetricsReporter } from './worker-metrics-reporter.js';

export interface RestoreReport {
  readonly partitions: readonly number[];
  readonly keys: number;
  readonly records: number;
  readonly bytes: number;
  /** Changelog records that could not be decoded or that this model cannot use (keys start afresh). */
  readonly corrupt: number;
  readonly durationMs: number;
}

export interface PartitionLifecycleOptions {
  readonly client: KafkaClient;
  readonly groupId: string;
  readonly topics: TopicNames;
  /** The task of a restored partition (a stream model's key store, or a pair model's). */
  readonly openPartition: OpenPartition;
  readonly reporter: Pick<
    WorkerMetricsReporter,
    'assigned' | 'restoreStarted' | 'restoreRemaining' | 'restored'
  >;
  readonly logger: Logger;
}

/**
 * Which partitions of `<app>.events` this worker owns, and each one's task (OwnedPartition). Opening a
 * partition fences its transactional producer (a zombie owner's transactions abort) and then
 * restores its keys from `<app>.state-changelog`; partitions assigned together restore in one
 * read. Closing one drops its task: its state is already in the changelog.
 */
export class PartitionLifecycle {
  private readonly o: PartitionLifecycleOptions;
  private readonly tasks = new Map<number, OwnedPartition>();
  private readonly producers = new Map<number, TransactionalProducer>();
  private readonly opening = new Map<number, Promise<OwnedPartition>>();
  private assigned = new Set<number>();
  /** The partition whose batch is in flight: a revocation closes it only after the batch. */
  private busyPartition: number | undefined;

  constructor(options: PartitionLifecycleOptions) {
    this.o = options;
  }

  /** The consumer's assignment changed: close what was revoked, start opening what was added. */
  readonly onAssignment = (partitions: readonly number[]): void => {
    const next = new Set(partitions);
    for (const partition of [...this.tasks.keys(), ...this.opening.keys()])
      if (!next.has(partition) && partition !== this.busyPartition) this.close(partition);
    const added = partitions.filter((p) => !this.tasks.has(p) && !this.opening.has(p));
    this.o.logger.info({ partitions, added }, 'partitions assigned');
    this.assigned = next;
    this.o.reporter.assigned(partitions);
    if (added.length === 0) return;
    const all = this.open(added);
    for (const partition of added) {
      const task: Promise<OwnedPartition> = all.then((opened) => {
        const open = opened.get(partition)!;
        // Open as soon as restored, not only when a batch asks: its timed work (maxWaitMs
        // training, TTL eviction of restored keys) is due even if no event ever comes.
        if (this.opening.get(partition) === task) {
          this.opening.delete(partition);
          this.tasks.set(partition, open);
        }
        return open;
      });
      // Awaited (and reported) by the batch that needs it; a partition revoked or dropped before
      // any batch came must not leave a rejection nobody handles (it would end the process).
      task.catch(() => {});
      this.opening.set(partition, task);
    }
  };

  isAssigned(partition: number): boolean {
    return this.assigned.has(partition);
  }

  /** The partition's task, once it is open. */
  async taskFor(partition: number): Promise<OwnedPartition> {
    const existing = this.tasks.get(partition);
    if (existing) return existing;
    let pending = this.opening.get(partition);
    if (!pending) {
      pending = this.open([partition]).then((opened) => opened.get(partition)!);
      this.opening.set(partition, pending);
    }
    const task = await pending;
    this.opening.delete(partition);
    this.tasks.set(partition, task);
    return task;
  }

  /** Runs a batch of `partition`; a revocation meanwhile waits for it (see closeIfRevoked). */
  async whileBusy<T>(partition: number, work: () => Promise<T>): Promise<T> {
    this.busyPartition = partition;
    try {
      return await work();
    } finally {
      this.busyPartition = undefined;
    }
  }

  closeIfRevoked(partition: number): void {
    if (!this.assigned.has(partition)) this.close(partition);
  }

  /** Drops every partition (after a Kafka failure: the group assigns them again). */
  closeAll(): void {
    for (const partition of new Set([
      ...this.tasks.keys(),
      ...this.opening.keys(),
      ...this.producers.keys(),
    ]))
      this.close(partition);
    this.assigned = new Set();
  }

  /** The worker stops: disconnects every producer and waits for them. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.producers.values()].map((p) => p.disconnect().catch(() => {})));
    this.producers.clear();
    this.tasks.clear();
  }

  /** The open partitions' tasks (those still opening are not yet ready to train). */
  openTasks(): OwnedPartition[] {
    return [...this.tasks.values()];
  }

  /** Ms until timed work of some open partition is due (OwnedPartition.dueInMs; undefined: none). */
  dueInMs(): number | undefined {
    let due: number | undefined;
    for (const task of this.tasks.values()) {
      const ms = task.dueInMs();
      if (ms !== undefined && (due === undefined || ms < due)) due = ms;
    }
    return due;
  }

  partitions(): number[] {
    return [...this.tasks.keys()].sort((a, b) => a - b);
  }

  keys(): number {
    return [...this.tasks.values()].reduce((n, task) => n + task.keys, 0);
  }

  stateBytes(): number {
    return [...this.tasks.values()].reduce((n, task) => n + task.stateBytes(), 0);
  }

  private close(partition: number): void {
    this.tasks.delete(partition);
    this.opening.delete(partition);
    const producer = this.producers.get(partition);
    this.producers.delete(partition);
    producer
      ?.disconnect()
      .catch((error: unknown) =>
        this.o.logger.warn({ partition, err: error }, 'closing a partition producer failed'),
      );
  }

  /** Fences each partition's producer, then restores the partitions from the changelog in one read. */
  private async open(partitions: readonly number[]): Promise<Map<number, OwnedPartition>> {
    const { client, groupId, topics, logger, reporter } = this.o;
    reporter.restoreStarted(partitions);
    for (const partition of partitions) {
      const producer = createTransactionalProducer({
        client,
        transactionalId: `${groupId}.${topics.events}.${partition}`,
      });
      this.producers.set(partition, producer);
      await producer.connect();
    }
    const folds = new Map(partitions.map((p) => [p, new ChangelogFold(p)]));
    logger.info({ partitions }, 'restoring partitions from the state changelog');
    const read = await readPartitionsToEnd({
      client,
      topic: topics.stateChangelog,
      partitions,
      onRecords: (records: readonly KafkaBusRecord[]) => {
        for (const r of records) folds.get(r.partition)?.add(r.key, r.tombstone ? null : r.value);
      },
      onProgress: ({ records, remainingOffsets }) => {
        reporter.restoreRemaining(remainingOffsets);
        logger.info({ partitions, records, remainingOffsets }, 'restore in progress');
      },
    });
    reporter.restoreRemaining(0);
    const eventsEnd = await withKafkaAdmin({ client, topic: topics.events }, (admin) =>
      topicEndOffsets({ admin, topic: topics.events, brokers: client.brokers }),
    );
    const opened = new Map<number, OwnedPartition>();
    let keys = 0;
    let corrupt = 0;
    for (const [partition, fold] of folds) {
      const restored = fold.finish(
        (key, error) =>
          logger.error(
            { partition, key: abbreviate(key, 200), err: error },
            'state changelog record cannot be decoded; the key starts afresh',
          ),
        { eventsEndOffset: eventsEnd.find((o) => o.partition === partition)?.high },
      );
      const task = this.o.openPartition({
        partition,
        producer: this.producers.get(partition)!,
        restored,
      });
      keys += restored.keys.length - task.unusableKeys;
      corrupt += restored.corrupt + task.unusableKeys;
      opened.set(partition, task);
    }
    reporter.restored({
      partitions,
      keys,
      records: read.records,
      bytes: read.bytes,
      corrupt,
      durationMs: read.durationMs,
    });
    return opened;
  }
}
