import type { StreamEvent } from '../../shared/events/index.js';
import type { Prediction } from '../../shared/events/prediction.js';
import type { EncodedEvent } from '../../shared/learner/event-encoder.js';
import type { RejectedEvent } from '../../shared/learner/segment-steps.js';
import type { StreamLearner } from '../../shared/learner/stream-learner.js';
import type { Bus } from '../../shared/transport/bus.js';

/** One input record on the embedded events topic. */
export interface QueuedEvent {
  readonly event: StreamEvent;
  readonly line: number;
  readonly index: number;
}

export interface LearnFromTopicOptions {
  readonly bus: Bus<QueuedEvent>;
  readonly topic: string;
  readonly maxBatchSize: number;
  readonly learner: StreamLearner;
  /** The learner's input for a record, or undefined when the record is bad (the caller reports it). */
  readonly encode: (record: QueuedEvent) => EncodedEvent | undefined;
  /**
   * Every batch's predictions, in input order, before the next batch is taken, with the events
   * they were made for (index for index) — none for a bidirectional learner, whose predictions
   * of a segment come with its eos, not with each event.
   */
  readonly onPredictions: (
    predictions: readonly Prediction[],
    events: readonly EncodedEvent[],
  ) => Promise<void>;
  /** Events the learner refused (a segment over its bound): the caller reports them as bad. */
  readonly onRejected?: ((rejected: RejectedEvent) => void) | undefined;
  /** After every batch (progress reports). */
  readonly onBatch?: (() => void) | undefined;
}

/** What finishing the input did: the steps still pending then, trained by one last step per key. */
export interface EndOfInput {
  readonly keys: number;
  readonly steps: number;
}

/**
 * The embedded learner's loop: predicts and learns from the topic's batches in order; when no
 * record comes while a ready key waits, wakes up when that key's maxWaitMs is over and trains it
 * (as a worker does); once the topic is closed and drained, trains every key's pending steps.
 */
export async function learnFromTopic(o: LearnFromTopicOptions): Promise<EndOfInput> {
  const { learner } = o;
  for await (const batch of o.bus.consumer().batches({
    topic: o.topic,
    maxBatchSize: o.maxBatchSize,
    idleAfterMs: () => learner.trainingDueInMs(),
  })) {
    if (batch.length === 0) {
      await learner.trainDue();
      continue;
    }
    const encoded: EncodedEvent[] = [];
    for (const { value } of batch) {
      const event = o.encode(value);
      if (event) encoded.push(event);
    }
    const predictions = await learner.process(encoded);
    const segments = learner.predictsAtSegmentEnd;
    if (
      learner.lastProcessed !== encoded.length ||
      (!segments && predictions.length !== encoded.length)
    ) {
      throw new Error(
        `internal: ${learner.lastProcessed} events processed and ${predictions.length} predictions for ${encoded.length} events: process() must predict every event`,
      );
    }
    for (const rejected of learner.drainRejected()) o.onRejected?.(rejected);
    await o.onPredictions(predictions, segments ? [] : encoded);
    // Training is synchronous compute: let timers, I/O and signal handlers (Ctrl-C) run between batches.
    await new Promise<void>((resolve) => setImmediate(resolve));
    o.onBatch?.();
  }
  return learner.finish();
}
