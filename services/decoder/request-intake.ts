/**
 * The decoder's runner on `<app>.decode-requests`: consumes in the decoders' group, turns each
 * record into a queue item — a job, an error result to give, or a dead letter — and pushes it,
 * waiting while the queue is full (back-pressure: the requests wait in Kafka). Offsets are never
 * committed here: the result outbox commits them with the answers.
 *
 * The consumer reads ahead of what is answered. After a rebalance kafkajs reads every partition
 * again from its committed offset, so records already queued come back: the intake remembers per
 * partition the next offset it has not queued and skips what comes before it. A Kafka failure
 * drops everything queued and rejoins the group after a growing back-off (the new consumer reads
 * again from the committed offsets).
 */
import {
  decodeDecodeRequest,
  peekRequestId,
  type DecodeRequest,
} from '../../shared/codec/decode-codec.js';
import type { DecoderConfig } from '../../shared/config/index.js';
import type { InputError } from '../../shared/errors/index.js';
import { asInputError } from '../../shared/errors/rnnstream-errors.js';
import type { InputLimits } from '../../shared/events/input-limits.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  KafkaSecurityError,
  KafkaTransportError,
  type KafkaBus,
  type KafkaBusRecord,
} from '../../shared/transport/kafka/index.js';
import { DecodeRejection, type DecodeWork } from './decode-jobs.js';
import type { QueuedItem, RequestQueue } from './request-queue.js';

/** One record of the requests topic, as the executor sees it. */
export interface DecodeItem extends QueuedItem {
  readonly record: KafkaBusRecord;
  /** When the decoder read it, ms since the epoch. */
  readonly receivedMs: number;
  readonly outcome:
    | {
        readonly kind: 'job';
        readonly request: DecodeRequest;
        readonly work: DecodeWork;
        /** Ms since the epoch after which the request gets a timeout result. */
        readonly deadlineMs: number;
      }
    | {
        readonly kind: 'rejected';
        readonly request: DecodeRequest;
        readonly error: DecodeRejection;
      }
    /** Too large to decode, but its request id could be read: answered with an error result. */
    | { readonly kind: 'oversized'; readonly requestId: string; readonly error: DecodeRejection }
    | { readonly kind: 'deadLetter'; readonly error: InputError };
}

export interface RequestIntakeOptions {
  readonly bus: KafkaBus;
  readonly topic: string;
  readonly queue: RequestQueue<DecodeItem>;
  /** The work of a valid request for the served model; throws a DecodeRejection otherwise. */
  readonly workOf: (request: DecodeRequest) => DecodeWork;
  readonly bounds: DecoderConfig;
  readonly limits: InputLimits;
  /** The group gave this decoder `partitions` (every join): open what is new, drop the rest. */
  readonly onAssignment: (partitions: readonly number[]) => void;
  /** Resolves once a newly owned partition can be answered (producer fenced, state restored). */
  readonly whenReady: (partition: number) => Promise<void>;
  /** A Kafka failure: the queued requests are dropped and the intake rejoins after a back-off. */
  readonly onRestart: (error: Error) => void;
  /** Records were read and queued (the consumer works, e.g. again after a failure). */
  readonly onRead?: () => void;
  /** A fetched batch left `partition` this many offsets behind its high watermark. */
  readonly onLag?: (partition: number, offsets: number) => void;
  readonly logger: Logger;
  readonly now: () => number;
  readonly signal: AbortSignal;
}

export class RequestIntake {
  private readonly o: RequestIntakeOptions;
  /** Per owned partition, the first offset not queued yet. */
  private readonly nextToQueue = new Map<number, number>();
  private failures = 0;
  private restartRequested: AbortController | undefined;

  constructor(options: RequestIntakeOptions) {
    this.o = options;
  }

  /** The assignment changed: forget where revoked partitions were (their new owner answers them). */
  assigned(partitions: readonly number[]): void {
    const owned = new Set(partitions);
    for (const p of [...this.nextToQueue.keys()]) if (!owned.has(p)) this.nextToQueue.delete(p);
  }

  /** Records of `partition` below `offset` are answered already (committed by a previous owner). */
  skipBelow(partition: number, offset: number): void {
    this.nextToQueue.set(partition, Math.max(this.nextToQueue.get(partition) ?? 0, offset));
  }

  /** Drop the partitions and rejoin (an answer transaction failed: its requests must be read again). */
  restart(): void {
    this.restartRequested?.abort();
  }

  async run(): Promise<void> {
    const { bus, topic, logger, signal } = this.o;
    while (!signal.aborted) {
      const consumer = bus.consumer({ commit: 'caller' });
      const restart = new AbortController();
      this.restartRequested = restart;
      try {
        for await (const records of consumer.batches({
          topic,
          maxBatchSize: 500,
          onAssignment: (partitions) => {
            this.assigned(partitions);
            this.o.onAssignment(partitions);
          },
          onLag: this.o.onLag,
        })) {
          if (signal.aborted || restart.signal.aborted) break;
          await this.queueRecords(records);
          this.failures = 0;
          this.o.onRead?.();
        }
        if (signal.aborted) break;
        if (!restart.signal.aborted) break; // the topic ended (only after close(), in tests)
        throw new KafkaTransportError('an answer transaction failed', {
          retriable: true,
          brokers: [],
          topic,
        });
      } catch (error) {
        if (signal.aborted) break;
        // A refused login, certificate or ACL stays refused: rejoining would only hide it.
        if (!(error instanceof KafkaTransportError) || error instanceof KafkaSecurityError)
          throw error;
        this.failures++;
        this.nextToQueue.clear();
        this.o.onRestart(error);
        // As the worker's: every 5 s at most, so the decoder is back soon after the broker.
        const backoffMs = Math.min(5_000, 250 * 2 ** Math.min(this.failures, 5));
        logger.warn(
          { err: error, failures: this.failures, backoffMs },
          'Kafka failure: dropping the queued requests and rejoining the group (they are read again from the committed offsets)',
        );
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  }

  private async queueRecords(records: readonly KafkaBusRecord[]): Promise<void> {
    const { queue, signal } = this.o;
    const partition = records[0]!.partition;
    await this.o.whenReady(partition);
    for (const record of records) {
      if (signal.aborted || this.restartRequested?.signal.aborted) return;
      const next = this.nextToQueue.get(partition);
      if (next !== undefined && record.offset < next) continue; // queued or answered already
      if (!(await queue.push(this.itemOf(record)))) return;
      this.nextToQueue.set(partition, record.nextOffset);
    }
  }

  private itemOf(record: KafkaBusRecord): DecodeItem {
    const { workOf, bounds, limits, now } = this.o;
    const receivedMs = now();
    const base = { partition: record.partition, queuedAt: performance.now(), record, receivedMs };
    let request: DecodeRequest;
    try {
      if (record.tombstone) throw new Error('a tombstone (null value) is not a DecodeRequest');
      request = decodeDecodeRequest(record.value, limits);
    } catch (error) {
      const requestId =
        !record.tombstone && record.value.byteLength > limits.maxEventBytes
          ? peekRequestId(record.value)
          : undefined;
      if (requestId !== undefined)
        return {
          ...base,
          outcome: {
            kind: 'oversized',
            requestId,
            error: new DecodeRejection(
              'invalid_request',
              `request of ${record.value.byteLength} bytes is over limits.maxEventBytes = ${limits.maxEventBytes} (fix: send a shorter prompt or fewer events, or raise limits.maxEventBytes in the decoder's config)`,
            ),
          },
        };
      return { ...base, outcome: { kind: 'deadLetter', error: asInputError(error) } };
    }
    try {
      const work = workOf(request);
      const deadlineMs =
        request.deadlineMs || (request.tsMs || receivedMs) + bounds.requestTimeoutMs;
      return { ...base, outcome: { kind: 'job', request, work, deadlineMs } };
    } catch (error) {
      const rejection =
        error instanceof DecodeRejection
          ? error
          : new DecodeRejection('invalid_request', (error as Error).message);
      return { ...base, outcome: { kind: 'rejected', request, error: rejection } };
    }
  }
}
