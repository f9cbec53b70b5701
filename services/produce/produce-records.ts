import { encodeEvent } from '../../shared/codec/event-codec.js';
import { describeDeadLetterError, encodeDeadLetter } from '../../shared/codec/dead-letter-codec.js';
import { asInputError, InputError, RnnstreamError } from '../../shared/errors/index.js';
import { renderValue } from '../../shared/errors/render-value.js';
import {
  deadLetterOriginal,
  DEFAULT_INPUT_LIMITS,
  jsonNestingDepth,
  truncateUtf8,
  type InputLimits,
} from '../../shared/events/input-limits.js';
import type { StreamEvent } from '../../shared/events/index.js';
import type { Logger } from '../../shared/logging/index.js';
import {
  KafkaTransportError,
  keyPartitioner,
  type KafkaBusProducer,
  type OutgoingRecord,
} from '../../shared/transport/kafka/index.js';

/**
 * One thing to produce: an event, or an input record that could not be read as one (reported,
 * counted as skipped and, with a dead-letter topic, sent there). `source` (a file path) and
 * `line` only serve the report; an event without a line is numbered by its position (1-based).
 */
export type ProduceItem =
  | { readonly event: StreamEvent; readonly line?: number; readonly source?: string }
  | {
      readonly error: InputError;
      readonly raw: string;
      readonly line?: number;
      readonly source?: string;
    };

/** What `rnnstream produce` prints at the end (one JSON line on stdout). */
export interface ProduceSummary {
  /** Events acknowledged by the brokers (acks=all). */
  readonly produced: number;
  /** Bad records reported and not produced as events. */
  readonly skipped: number;
  /** Bad records written to the dead-letter topic (0 without one). */
  readonly deadLettered: number;
  /** From the first record read to the last acknowledgement. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly topic: string;
  /** Events per partition number ("0", "1", ...), every partition of the topic listed. */
  readonly partitions: Readonly<Record<string, number>>;
  /** The run was stopped by its abort signal (SIGINT/SIGTERM) before the input ended. */
  readonly interrupted: boolean;
}

export type ProduceProgress = Pick<
  ProduceSummary,
  'produced' | 'skipped' | 'deadLettered' | 'seconds' | 'eventsPerSecond'
>;

export interface ProduceRecordsOptions {
  readonly producer: KafkaBusProducer;
  readonly topic: string;
  /** Partition count of `topic`, for the per-partition counts of the summary. */
  readonly partitions: number;
  readonly records: AsyncIterable<ProduceItem> | Iterable<ProduceItem>;
  /** Records per send request (default 1000). */
  readonly batchSize?: number | undefined;
  /** Bounds on one event (config `limits`); an event over one is a bad record. */
  readonly limits?: InputLimits | undefined;
  /** Throttle: at most this many events per second on average (undefined = as fast as possible). */
  readonly ratePerSecond?: number | undefined;
  /** Bad records also go there as DeadLetter messages (undefined = only reported). */
  readonly deadLetterTopic?: string | undefined;
  /** Aborting stops reading; what was read is still sent, then the summary is returned. */
  readonly signal?: AbortSignal | undefined;
  /** Bad records are reported here (warn), the first MAX_REPORTED_BAD_RECORDS of them. */
  readonly logger?: Logger | undefined;
  readonly progressIntervalMs?: number | undefined;
  readonly onProgress?: ((progress: ProduceProgress) => void) | undefined;
}

export const DEFAULT_BATCH_SIZE = 1000;
const MAX_REPORTED_BAD_RECORDS = 1000;
/** With a rate limit, sends happen about this often (batches shrink to rate / SENDS_PER_SECOND). */
const SENDS_PER_SECOND = 20;

/**
 * Sends events to `topic` in input order, keyed by the event key (so one key's events share a
 * partition and keep their order), as Event protobuf. One send request is in flight at a time and
 * the next batch is read and encoded meanwhile. Bad records never stop the run: each is reported
 * with its source, line, reason and fix, counted, and (with `deadLetterTopic`) dead-lettered.
 * A failed send (after the producer's retries) throws, saying how many events were acknowledged.
 */
export async function produceRecords(options: ProduceRecordsOptions): Promise<ProduceSummary> {
  const { producer, topic, partitions, deadLetterTopic, signal, logger } = options;
  const limits = options.limits ?? DEFAULT_INPUT_LIMITS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize = ${batchSize}: must be an integer >= 1`);
  const rate = options.ratePerSecond;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0))
    throw new RangeError(`ratePerSecond = ${rate}: must be a number > 0`);
  const perSend =
    rate === undefined ? batchSize : clamp(Math.ceil(rate / SENDS_PER_SECOND), 1, batchSize);

  const partitionOf = memoized(keyPartitioner(partitions));
  const counts = new Array<number>(partitions).fill(0);
  let produced = 0;
  let skipped = 0;
  let deadLettered = 0;
  let dispatched = 0;
  let position = 0;
  let interrupted = false;
  let batch: OutgoingRecord[] = [];
  let batchPartitions: number[] = [];
  let deadLetters: OutgoingRecord[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const progress = (): ProduceProgress => {
    const s = seconds();
    return {
      produced,
      skipped,
      deadLettered,
      seconds: s,
      eventsPerSecond: s > 0 ? produced / s : 0,
    };
  };

  /** Hands the current batch to the producer once the previous send is acknowledged. */
  const dispatch = async (): Promise<void> => {
    if (batch.length === 0 && deadLetters.length === 0) return;
    const records = batch;
    const recordPartitions = batchPartitions;
    const dead = deadLetters;
    batch = [];
    batchPartitions = [];
    deadLetters = [];
    await inFlight; // one send at a time: a key's order holds across batches
    if (rate !== undefined)
      await sleepUntil(started + ((dispatched + records.length) / rate) * 1000, signal);
    dispatched += records.length;
    inFlight = (async () => {
      if (records.length > 0) {
        await producer.send({ topic, messages: records });
        produced += records.length;
        for (const p of recordPartitions) counts[p]!++;
      }
      if (dead.length > 0) {
        await producer.send({ topic: deadLetterTopic!, messages: dead });
        deadLettered += dead.length;
      }
    })();
    inFlight.catch(() => {}); // thrown where it is awaited: at the next dispatch or at the end
  };

  const reject = (item: ProduceItem, error: InputError, raw: string): void => {
    skipped++;
    if (logger !== undefined) {
      if (skipped <= MAX_REPORTED_BAD_RECORDS) {
        const where = item.source ?? 'event';
        const message = item.line === undefined ? `#${position}: ${error.message}` : error.message;
        logger.warn(
          { file: item.source, line: item.line ?? position, reason: error.reason },
          `skipped bad input: ${where} ${message}`,
        );
      } else if (skipped === MAX_REPORTED_BAD_RECORDS + 1) {
        logger.warn(
          {},
          `more than ${MAX_REPORTED_BAD_RECORDS} bad records: further ones are counted in the summary but not logged`,
        );
      }
    }
    if (deadLetterTopic !== undefined)
      deadLetters.push(deadLetterRecord({ item, error, raw, position, limits }));
  };

  const timer =
    options.onProgress !== undefined && (options.progressIntervalMs ?? 0) > 0
      ? setInterval(() => options.onProgress!(progress()), options.progressIntervalMs)
      : undefined;
  timer?.unref();
  try {
    for await (const item of options.records) {
      position++;
      if ('event' in item) {
        let value: Uint8Array | undefined;
        try {
          value = encodeEvent(item.event, limits);
        } catch (error) {
          reject(
            item,
            asInputError(error),
            renderValue(item.event, { maxChars: limits.maxEventBytes }),
          );
        }
        if (value !== undefined) {
          batch.push({ key: item.event.key, value });
          batchPartitions.push(partitionOf(item.event.key));
        }
      } else {
        reject(item, item.error, item.raw);
      }
      // Dead letters count too, so an input of only bad lines is not held in memory.
      if (batch.length + deadLetters.length >= perSend) await dispatch();
      // Checked after the record is handled: every record read is sent.
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
    }
    await dispatch();
    await inFlight;
  } catch (error) {
    if (!(error instanceof KafkaTransportError)) throw error;
    throw new RnnstreamError(
      `produce stopped after ${produced} acknowledged events (the events after them may be partly written: rerun on the rest of the input, or on all of it if duplicates are acceptable): ${error.message}`,
      { cause: error, retriable: error.retriable },
    );
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }

  const { eventsPerSecond } = progress();
  return {
    produced,
    skipped,
    deadLettered,
    seconds: round(seconds(), 3),
    eventsPerSecond: round(eventsPerSecond, 1),
    topic,
    partitions: Object.fromEntries(counts.map((n, p) => [String(p), n])),
    interrupted,
  };
}

/**
 * The DeadLetter message of a bad record. A record rejected before it reached Kafka has no topic,
 * partition or offset: `sourceTopic` is `file:<path>` (or `produce` for records given in code),
 * `partition` is -1 and `offset` is the 1-based line (or record position). The Kafka key is the
 * record's key when one can be read from it, else empty.
 */
function deadLetterRecord({
  item,
  error,
  raw,
  position,
  limits,
}: {
  item: ProduceItem;
  error: InputError;
  raw: string;
  position: number;
  limits: InputLimits;
}): OutgoingRecord {
  const found = 'event' in item ? item.event.key : recoverKey(raw, limits);
  const encoder = new TextEncoder();
  const { originalKey, originalValue, cutNote } = deadLetterOriginal({
    key: found === undefined ? undefined : encoder.encode(found),
    value: encoder.encode(raw),
    limits,
  });
  const described = describeDeadLetterError(error);
  return {
    key: found === undefined ? '' : truncateUtf8(found, limits.maxKeyBytes),
    value: encodeDeadLetter({
      originalKey,
      originalValue,
      sourceTopic: item.source === undefined ? 'produce' : `file:${item.source}`,
      partition: -1,
      offset: item.line ?? position,
      ...described,
      error: described.error + cutNote,
      tsMs: Date.now(),
    }),
  };
}

/** The key of a bad JSON line, when the line is an object with a usable key. */
function recoverKey(raw: string, limits: InputLimits): string | undefined {
  if (
    raw.length > limits.maxEventBytes ||
    jsonNestingDepth(raw, limits.maxJsonDepth) > limits.maxJsonDepth
  )
    return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const key = (value as { key?: unknown }).key;
    if (typeof key === 'string' && key !== '') return key;
    if (typeof key === 'number' && Number.isSafeInteger(key)) return String(key);
  } catch {
    // not JSON: no key
  }
  return undefined;
}

/** Resolves at `atMs` (performance.now() time) or when `signal` aborts, whichever comes first. */
function sleepUntil(atMs: number, signal: AbortSignal | undefined): Promise<void> {
  const wait = atMs - performance.now();
  if (wait <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, wait);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** murmur2 in kafkajs is slow (64-bit Long arithmetic); keys repeat, so remember up to 100k. */
function memoized(partitionOf: (key: string) => number): (key: string) => number {
  const known = new Map<string, number>();
  return (key) => {
    let p = known.get(key);
    if (p === undefined) {
      if (known.size >= 100_000) known.clear();
      p = partitionOf(key);
      known.set(key, p);
    }
    return p;
  };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
