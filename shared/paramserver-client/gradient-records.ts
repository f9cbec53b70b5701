import { encodeGradientChunks, type GradientMessage } from '../codec/gradient-codec.js';
import type { TensorDType, TensorValue } from '../codec/tensor-codec.js';
import type { WorkerGradient } from '../tbptt/gradient-sink.js';
import { encodeOutgoingRecords, type OutgoingRecord } from '../transport/kafka/index.js';

/**
 * The GradientChunk records of one worker gradient for `<app>.gradients`, key = worker id (so a
 * worker's gradients stay in order on one partition). Send them all in one transaction: the
 * paramserver reads read_committed and reassembles the set. `encoding` is the wire dtype
 * (config `paramserver.gradientEncoding`); chunks stay below `maxChunkBytes` (default 900,000).
 * Reads the tensors (dataSync) and leaves them to the caller, who still disposes them.
 */
export function gradientRecords({
  gradient,
  encoding = 'float32',
  maxChunkBytes,
}: {
  gradient: WorkerGradient;
  encoding?: TensorDType;
  maxChunkBytes?: number;
}): OutgoingRecord[] {
  const tensors = new Map<string, TensorValue>();
  for (const [name, t] of gradient.gradients)
    tensors.set(name, { shape: t.shape, data: t.dataSync() as Float32Array });
  const { workerId, step, paramVersion, tokens, lossSum, wordCounts } = gradient;
  return gradientMessageRecords({
    message: { workerId, step, paramVersion, tokens, lossSum, tensors, wordCounts },
    encoding,
    ...(maxChunkBytes === undefined ? {} : { maxChunkBytes }),
  });
}

/** gradientRecords for a gradient already held as arrays. */
export function gradientMessageRecords({
  message,
  encoding = 'float32',
  maxChunkBytes,
}: {
  message: GradientMessage;
  encoding?: TensorDType;
  maxChunkBytes?: number;
}): OutgoingRecord[] {
  return encodeOutgoingRecords({
    keyOf: () => message.workerId,
    encodeValues: (allocate) =>
      encodeGradientChunks(message, {
        dtype: encoding,
        allocate,
        ...(maxChunkBytes === undefined ? {} : { maxChunkBytes }),
      }),
  });
}
