import { encodeGradientChunks, type GradientMessage } from '../../shared/codec/index.js';
import type { TensorDType, TensorValue } from '../../shared/codec/tensor-codec.js';
import type { GradientSink, WorkerGradient } from '../../shared/tbptt/gradient-sink.js';
import type { OutgoingRecord } from '../../shared/transport/kafka/index.js';

/**
 * The worker's gradient sink: it keeps the gradients of the batch being processed (downloaded,
 * tensors disposed) until the batch's transaction takes them, so a gradient becomes visible to
 * the parameter service exactly when the state changes it came with commit — never for a batch
 * that is aborted and processed again.
 */
export class PendingGradients implements GradientSink {
  private pending: GradientMessage[] = [];

  submit(gradient: WorkerGradient): void {
    const tensors = new Map<string, TensorValue>();
    for (const [name, tensor] of gradient.gradients) {
      tensors.set(name, { shape: tensor.shape, data: tensor.dataSync() as Float32Array });
      tensor.dispose();
    }
    this.pending.push({
      workerId: gradient.workerId,
      step: gradient.step,
      paramVersion: gradient.paramVersion,
      tokens: gradient.tokens,
      lossSum: gradient.lossSum,
      tensors,
    });
  }

  get size(): number {
    return this.pending.length;
  }

  /** The pending gradients as `<app>.gradients` records (key = worker id), and forgets them. */
  drainRecords({
    dtype,
    maxChunkBytes,
  }: {
    dtype: TensorDType;
    maxChunkBytes?: number | undefined;
  }): OutgoingRecord[] {
    const out: OutgoingRecord[] = [];
    for (const gradient of this.pending) {
      for (const value of encodeGradientChunks(gradient, { dtype, maxChunkBytes }))
        out.push({ key: gradient.workerId, value });
    }
    this.pending = [];
    return out;
  }

  /** Drops the pending gradients (their batch was aborted). */
  clear(): void {
    this.pending = [];
  }
}
