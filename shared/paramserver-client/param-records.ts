import { encodeParamChunks, type GradientId } from '../codec/param-codec.js';
import type { NamedTensors } from '../codec/tensor-set-codec.js';
import { ConfigError } from '../errors/index.js';
import { encodeOutgoingRecords, type OutgoingRecord } from '../transport/kafka/index.js';

/** The model id a paramserver publishes under unless told otherwise (`--model-id`). */
export const DEFAULT_MODEL_ID = 'default';

const MODEL_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** Throws a ConfigError unless `modelId` can be part of a params record key. */
export function checkModelId(modelId: string): string {
  if (!MODEL_ID.test(modelId)) {
    throw new ConfigError(
      `model id = ${JSON.stringify(modelId)}: not usable (fix: 1 to 100 letters, digits, '.', '_' or '-', e.g. --model-id ${DEFAULT_MODEL_ID})`,
    );
  }
  return modelId;
}

/**
 * Record key of one chunk of one version on the compacted `<app>.params` topic. Every chunk needs a
 * key of its own — with one key per model, compaction would keep only a version's last chunk.
 */
export function paramChunkKey(modelId: string, version: number, index: number): string {
  return `${modelId}/${version}/${index}`;
}

/** The parts of a params record key, or undefined for a key of another shape. */
export function parseParamChunkKey(
  key: string,
): { modelId: string; version: number; index: number } | undefined {
  const match = /^([A-Za-z0-9._-]+)\/(\d+)\/(\d+)$/.exec(key);
  if (match === null) return undefined;
  return { modelId: match[1]!, version: Number(match[2]), index: Number(match[3]) };
}

/**
 * The ParamChunk records of one version (float32: workers must get the exact parameters), keyed
 * `<model>/<version>/<chunk>`.
 */
export function paramRecords({
  modelId,
  version,
  tensors,
  applied,
  vocabulary,
  maxChunkBytes,
}: {
  modelId: string;
  version: number;
  tensors: NamedTensors;
  /** The gradients this version applied. */
  applied?: readonly GradientId[] | undefined;
  /** input.tokenizer "words": the vocabulary as of this version. */
  vocabulary?: readonly string[] | undefined;
  maxChunkBytes?: number;
}): OutgoingRecord[] {
  return encodeOutgoingRecords({
    keyOf: (index) => paramChunkKey(modelId, version, index),
    encodeValues: (allocate) =>
      encodeParamChunks(
        { modelId, version, tensors, applied, vocabulary },
        { dtype: 'float32', allocate, ...(maxChunkBytes === undefined ? {} : { maxChunkBytes }) },
      ),
  });
}

/**
 * Tombstones for the `count` chunks of an old version: compaction then drops it, so the topic
 * keeps the latest versions only instead of growing by a model's size per update.
 */
export function paramTombstones({
  modelId,
  version,
  count,
}: {
  modelId: string;
  version: number;
  count: number;
}): OutgoingRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    key: paramChunkKey(modelId, version, index),
    value: null,
  }));
}
