/**
 * A typed client of the decoder service for programs (and the `generate --brokers` / `decode`
 * commands): sends DecodeRequests to `<app>.decode-requests` and resolves each with its final
 * DecodeResult from `<app>.decode-results`, handing streamed partial results to a callback.
 *
 * A request naming a sequence key is keyed by that key (it lands on the partition of the key's
 * state); any other by its request id. Results are keyed by request id, so the client reads only
 * the result partitions its requests hash to — read_committed, from their end taken before the
 * first request was sent there, so no result can slip past between sending and reading.
 */
import { randomUUID } from 'node:crypto';

import {
  decodeDecodeResult,
  encodeDecodeRequest,
  type DecodeRequest,
  type DecodeResult,
  type TransduceAsk,
} from '../codec/decode-codec.js';
import { RnnstreamError } from '../errors/index.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../events/input-limits.js';
import {
  createKafkaBus,
  createPartitionTail,
  keyPartitioner,
  topicNames,
  topicPartitionCount,
  withKafkaAdmin,
  type KafkaClient,
  type PartitionTail,
} from '../transport/kafka/index.js';

/** A request as a client writes it: the id and send time are filled in when absent. */
export type ClientRequest = Omit<DecodeRequest, 'requestId'> & { readonly requestId?: string };

export interface RequestOptions {
  /** Reject when no final result came within this long (default 60 s; the request may still be answered later). */
  readonly timeoutInMs?: number;
  /** Streamed partial results (requests with `stream`), in order. */
  readonly onPartial?: (partial: DecodeResult) => void;
}

/** A transduce request (a decoder of a seq2seq model) as a client writes it. */
export interface TransduceRequest {
  /**
   * The source: tokens as a pair event's source (text tokens of input.tokenizer and/or ids), or
   * one string the decoder tokenizes (bytes: its UTF-8 bytes; ids: whitespace-separated ids).
   */
  readonly source: ReadonlyArray<string | number> | string;
  /** Beam search of this width and length penalty α (default 0); absent: greedy. */
  readonly beam?: { readonly width: number; readonly lengthPenalty?: number } | undefined;
  /** Hypotheses returned, best first (≤ beam width; default 1). */
  readonly nBest?: number | undefined;
  /** Most target tokens (default: the model's seq2seq.maxTargetLength, which also caps it). */
  readonly maxTokens?: number | undefined;
  readonly requestId?: string | undefined;
  readonly deadlineMs?: number | undefined;
  readonly model?: string | undefined;
}

export interface DecoderClient {
  /** Sends the request and resolves with its final result (an error result resolves too: see `error`). */
  request(request: ClientRequest, options?: RequestOptions): Promise<DecodeResult>;
  /** A transduce request: the result's `hypotheses` are the n-best, best first. */
  transduce(request: TransduceRequest, options?: RequestOptions): Promise<DecodeResult>;
  /** Stops reading results; pending requests reject. */
  close(): Promise<void>;
}

/** No final result arrived in time; the decoder may still answer later. Retriable. */
export class DecodeTimeoutError extends RnnstreamError {
  readonly requestId: string;
  constructor(requestId: string, timeoutInMs: number, app: string) {
    super(
      `no result for request ${requestId} within ${timeoutInMs} ms (fix: check that \`rnnstream decoder\` runs for app '${app}' and reads ${app}.decode-requests, or wait longer)`,
      { retriable: true },
    );
    this.requestId = requestId;
  }
}

interface Pending {
  readonly resolve: (result: DecodeResult) => void;
  readonly reject: (error: Error) => void;
  readonly onPartial: ((partial: DecodeResult) => void) | undefined;
  readonly timer: NodeJS.Timeout;
}

export async function createDecoderClient({
  client,
  app,
  limits = DEFAULT_INPUT_LIMITS,
  now = Date.now,
}: {
  client: KafkaClient;
  app: string;
  limits?: InputLimits;
  now?: () => number;
}): Promise<DecoderClient> {
  const topics = topicNames(app);
  const resultPartitions = await withKafkaAdmin({ client }, (admin) =>
    topicPartitionCount({ admin, brokers: client.brokers, topic: topics.decodeResults }),
  );
  if (resultPartitions === 0)
    throw new RnnstreamError(
      `topic ${topics.decodeResults} does not exist (fix: start the decoder or a worker with --create-topics, or create the app's topics)`,
      { retriable: false },
    );
  const partitionOf = keyPartitioner(resultPartitions);
  const pending = new Map<string, Pending>();
  const tail: PartitionTail = createPartitionTail({
    client,
    topic: topics.decodeResults,
    maxWaitTimeInMs: 50,
    onRecords: (records) => {
      for (const record of records) {
        const waiting = pending.get(record.key);
        if (!waiting || record.tombstone) continue;
        const result = decodeDecodeResult(record.value);
        if (result.partial) {
          waiting.onPartial?.(result);
          continue;
        }
        clearTimeout(waiting.timer);
        pending.delete(record.key);
        waiting.resolve(result);
      }
    },
    onFailure: (error) => {
      for (const [id, waiting] of pending) {
        clearTimeout(waiting.timer);
        pending.delete(id);
        waiting.reject(error);
      }
    },
  });
  const followed = new Map<number, Promise<unknown>>();
  const bus = createKafkaBus({ client, groupId: `${app}.decoder-client` });
  const producer = bus.producer();

  const decoderClient: DecoderClient = {
    transduce({ source, beam, nBest, maxTokens, ...rest }, options) {
      return decoderClient.request(
        { ...rest, maxTokens, ask: transduceAsk(source, beam, nBest) },
        options,
      );
    },
    async request(request, { timeoutInMs = 60_000, onPartial } = {}) {
      const requestId = request.requestId ?? randomUUID();
      const full: DecodeRequest = { ...request, requestId, tsMs: request.tsMs || now() };
      const value = encodeDecodeRequest(full, limits); // an invalid request throws before anything is sent
      const partition = partitionOf(requestId);
      let following = followed.get(partition);
      if (!following) {
        following = tail.follow([partition], { from: 'end' });
        followed.set(partition, following);
        following.catch(() => followed.delete(partition));
      }
      await following;
      const result = new Promise<DecodeResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(requestId);
          reject(new DecodeTimeoutError(requestId, timeoutInMs, app));
        }, timeoutInMs);
        pending.set(requestId, { resolve, reject, onPartial, timer });
      });
      try {
        await producer.send({
          topic: topics.decodeRequests,
          messages: [{ key: request.key ?? requestId, value }],
        });
      } catch (error) {
        clearTimeout(pending.get(requestId)?.timer);
        pending.delete(requestId);
        throw error;
      }
      return result;
    },
    async close() {
      for (const [id, waiting] of pending) {
        clearTimeout(waiting.timer);
        pending.delete(id);
        waiting.reject(
          new RnnstreamError(`request ${id}: the client was closed before its result came`, {
            retriable: true,
          }),
        );
      }
      await Promise.all([tail.stop(), bus.disconnect()]);
    },
  };
  return decoderClient;
}

function transduceAsk(
  source: TransduceRequest['source'],
  beam: TransduceRequest['beam'],
  nBest: number | undefined,
): TransduceAsk {
  return {
    kind: 'transduce',
    source: typeof source === 'string' ? [] : source,
    sourceText: typeof source === 'string' ? source : '',
    decoding: beam
      ? { kind: 'beam', width: beam.width, lengthPenalty: beam.lengthPenalty ?? 0 }
      : { kind: 'greedy' },
    nBest: nBest ?? 1,
  };
}
