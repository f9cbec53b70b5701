import type { Bus, BusRecord } from './bus.js';

interface TopicQueue<T> {
  records: Array<BusRecord<T>>;
  nextOffset: number;
  closed: boolean;
  /** Wakes a waiting consumer / producer. */
  onData: Array<() => void>;
  onSpace: Array<() => void>;
}

/**
 * A bounded in-memory bus for one process (embedded mode, unit tests): producers wait when a
 * topic holds `highWaterMark` unconsumed records, so a fast reader never buffers a whole file.
 * Single consumer per topic; records are handed over exactly once, in order.
 */
export function createInProcessBus<T>({
  highWaterMark = 65_536,
}: { highWaterMark?: number } = {}): Bus<T> {
  const topics = new Map<string, TopicQueue<T>>();
  const topicQueue = (topic: string): TopicQueue<T> => {
    let q = topics.get(topic);
    if (!q) {
      q = { records: [], nextOffset: 0, closed: false, onData: [], onSpace: [] };
      topics.set(topic, q);
    }
    return q;
  };
  const wake = (waiters: Array<() => void>): void => {
    for (const w of waiters.splice(0)) w();
  };

  return {
    producer: () => ({
      async send({ topic, messages }) {
        const q = topicQueue(topic);
        if (q.closed) throw new Error(`topic '${topic}' is closed for producing`);
        for (const { key, value } of messages) {
          while (q.records.length >= highWaterMark)
            await new Promise<void>((resolve) => q.onSpace.push(resolve));
          q.records.push({ key, value, offset: q.nextOffset++ });
          wake(q.onData);
        }
      },
    }),
    consumer: () => ({
      async *batches({ topic, maxBatchSize, idleAfterMs }) {
        const q = topicQueue(topic);
        for (;;) {
          if (q.records.length > 0) {
            const batch = q.records.splice(0, maxBatchSize);
            wake(q.onSpace);
            yield batch;
          } else if (q.closed) {
            return;
          } else if (!(await dataWithin(q, idleAfterMs?.()))) {
            yield [];
          }
        }
      },
    }),
    close(topic) {
      const q = topicQueue(topic);
      q.closed = true;
      wake(q.onData);
    },
  };
}

/** Waits for a record (true) or until `timeoutMs` passes (false; undefined: no limit). */
function dataWithin<T>(q: TopicQueue<T>, timeoutMs: number | undefined): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const at = q.onData.indexOf(onData);
            if (at >= 0) q.onData.splice(at, 1);
            resolve(false);
          }, timeoutMs);
    const onData = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    q.onData.push(onData);
  });
}
