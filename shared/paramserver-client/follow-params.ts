import { randomUUID } from 'node:crypto';

import { abbreviate } from '../errors/abbreviate.js';
import { ParamAssembler, type DecodedParams } from '../codec/param-codec.js';
import { RnnstreamError } from '../errors/index.js';
import { createKafkaBus, topicNames, type KafkaClient } from '../transport/kafka/index.js';
import { DEFAULT_MODEL_ID, parseParamChunkKey } from './param-records.js';

export interface ParamsFollower {
  /** The newest complete version seen so far. */
  readonly latest: DecodedParams | undefined;
  /**
   * Resolves with the first complete version ≥ `minVersion` (at once if one was seen); rejects
   * after `timeoutMs` with a retriable error saying what to check.
   */
  waitForVersion(options: { minVersion?: number; timeoutMs: number }): Promise<DecodedParams>;
  /** Ends the consumer and waits for a running onVersion call. */
  stop(): Promise<void>;
  /** Settles when the follower ends: resolves after stop(), rejects if consuming failed. */
  readonly done: Promise<void>;
}

/**
 * Follows `<app>.params` for one model id: reads the topic from the beginning in a consumer group
 * of its own (no commits: every follower sees the whole compacted topic), reassembles each
 * version's chunks and calls `onVersion` with every complete version newer than the last one
 * delivered. Calls are serialised; when versions complete faster than `onVersion` returns (say
 * while catching up with a long topic), only the newest waiting one is delivered next.
 * Errors thrown by onVersion are logged and do not stop the follower.
 */
export function followParams({
  client,
  app,
  modelId = DEFAULT_MODEL_ID,
  onVersion = () => {},
  maxBatchSize = 64,
}: {
  client: KafkaClient;
  app: string;
  modelId?: string;
  onVersion?: (params: DecodedParams) => void | Promise<void>;
  maxBatchSize?: number;
}): ParamsFollower {
  const topic = topicNames(app).params;
  const log = client.logger.child({ component: 'params-follower', topic, modelId });
  // A version is ~model size in 900 KB chunks: fetch many of them per round trip.
  const bus = createKafkaBus({
    client,
    groupId: `${app}.params-follower.${randomUUID()}`,
    maxBytesPerPartition: 32 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
  });
  // Transactions publish whole versions, so incomplete sets only come from a broken producer.
  const assembler = new ParamAssembler({
    onDrop: (dropped) => log.warn({ err: dropped.error }, 'incomplete parameter version dropped'),
  });
  let latest: DecodedParams | undefined;
  let failure: { error: unknown } | undefined;
  const waiters = new Set<{
    minVersion: number;
    resolve: (p: DecodedParams) => void;
    reject: (e: unknown) => void;
  }>();

  let next: DecodedParams | undefined;
  let delivering: Promise<void> | undefined;
  const pump = async () => {
    while (next !== undefined) {
      const params = next;
      next = undefined;
      try {
        await onVersion(params);
      } catch (error) {
        log.error(
          { err: error, version: params.version },
          'onVersion failed for a parameter version',
        );
      }
    }
    delivering = undefined;
  };

  const completed = (params: DecodedParams) => {
    latest = params;
    for (const waiter of waiters) if (params.version >= waiter.minVersion) waiter.resolve(params);
    next = params;
    delivering ??= pump();
  };

  const consume = async () => {
    const batches = bus.consumer({ commit: 'caller' }).batches({ topic, maxBatchSize });
    for await (const batch of batches) {
      for (const record of batch) {
        if (record.tombstone) continue;
        const key = parseParamChunkKey(record.key);
        // Skip other models' chunks, and versions not newer than one delivered, before decoding.
        if (key === undefined || key.modelId !== modelId) continue;
        if (latest !== undefined && key.version <= latest.version) continue;
        let params: DecodedParams | undefined;
        try {
          params = assembler.add(record.value);
        } catch (error) {
          log.warn({ err: error, offset: record.offset }, 'bad parameter chunk skipped');
          continue;
        }
        // The record key said this model; a chunk whose own header names another is not ours.
        if (params !== undefined && params.modelId !== modelId) {
          log.warn(
            { offset: record.offset, chunkModelId: abbreviate(params.modelId) },
            'parameter version of another model under this model key skipped',
          );
          continue;
        }
        if (params !== undefined && (latest === undefined || params.version > latest.version))
          completed(params);
      }
    }
  };

  const done = consume().then(
    async () => {
      await delivering;
    },
    async (error: unknown) => {
      failure = { error };
      for (const waiter of waiters) waiter.reject(error);
      log.error({ err: error }, 'following the params topic failed');
      await delivering;
      throw error;
    },
  );
  done.catch(() => {}); // surfaced through waitForVersion / done

  return {
    get latest() {
      return latest;
    },
    waitForVersion({ minVersion = 0, timeoutMs }) {
      if (latest !== undefined && latest.version >= minVersion) return Promise.resolve(latest);
      if (failure !== undefined) return Promise.reject(failure.error);
      return new Promise<DecodedParams>((resolve, reject) => {
        const waiter = {
          minVersion,
          resolve: (params: DecodedParams) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(params);
          },
          reject: (error: unknown) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            reject(error);
          },
        };
        const timer = setTimeout(
          () =>
            waiter.reject(
              new RnnstreamError(
                `no parameter version >= ${minVersion} of model '${modelId}' on ${topic} within ${timeoutMs} ms ` +
                  `(latest seen: ${latest?.version ?? 'none'}) (fix: start 'rnnstream paramserver' for app '${app}'` +
                  `${modelId === DEFAULT_MODEL_ID ? '' : ` with --model-id ${modelId}`}; it publishes version 0 when it first starts)`,
                { retriable: true },
              ),
            ),
          timeoutMs,
        );
        waiters.add(waiter);
      });
    },
    async stop() {
      await bus.disconnect();
      await done.catch(() => {});
    },
    done,
  };
}
