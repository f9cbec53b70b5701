/**
 * The message bus as the services see it: keyed records on named topics, produced in order and
 * consumed in batches with offsets. The in-process bus (embedded mode) implements it now; the
 * Kafka adapter implements the same interface so services never import kafkajs directly.
 */
export interface BusRecord<T> {
  readonly key: string;
  readonly value: T;
  /** Position of the record in its topic, from 0. */
  readonly offset: number;
}

export interface BusProducer<T> {
  /** Appends records in order; resolves once they are accepted (may wait for back-pressure). */
  send({
    topic,
    messages,
  }: {
    topic: string;
    messages: ReadonlyArray<{ key: string; value: T }>;
  }): Promise<void>;
}

export interface BatchOptions {
  topic: string;
  maxBatchSize: number;
  /**
   * Asked before each wait for records: after this many ms with none, an empty batch is yielded
   * (undefined: wait as long as it takes). Timed work — a ready key whose wait is over — then
   * runs in the caller's loop, in order with its batches.
   */
  idleAfterMs?: (() => number | undefined) | undefined;
}

export interface BusConsumer<T> {
  /** Yields batches of records of one topic in order until the topic is closed and drained. */
  batches(options: BatchOptions): AsyncIterable<ReadonlyArray<BusRecord<T>>>;
}

export interface Bus<T> {
  producer(): BusProducer<T>;
  consumer(): BusConsumer<T>;
  /** No more records will be produced to this topic: consumers finish after draining it. */
  close(topic: string): void;
}
