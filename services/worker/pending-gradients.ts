import type { GradientMessage } from '../../shared/codec/index.js';
import type { GradientId } from '../../shared/codec/param-codec.js';
import type { TensorDType, TensorValue } from '../../shared/codec/tensor-codec.js';
import { gradientMessageRecords } from '../../shared/paramserver-client/index.js';
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
      wordCounts: gradient.wordCounts,
    });
  }

  get size(): number {
    return this.pending.length;
  }

  /**
   * The pending gradients as `<app>.gradients` records (key = worker id) and their ids (what a
   * published version lists once it applied them); forgets them.
   */
  drain({ dtype, maxChunkBytes }: { dtype: TensorDType; maxChunkBytes?: number | undefined }): {
    records: OutgoingRecord[];
    ids: GradientId[];
  } {
    const records = this.pending.flatMap((message) =>
      gradientMessageRecords({
        message,
        encoding: dtype,
        ...(maxChunkBytes === undefined ? {} : { maxChunkBytes }),
      }),
    );
    const ids = this.pending.map(({ workerId, step }) => ({ workerId, step }));
    this.pending = [];
    return { records, ids };
  }

  /** Drops the pending gradients (their batch was aborted). */
  clear(): void {
    this.pending = [];
  }
}
