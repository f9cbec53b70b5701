import type { Tensor } from '@tensorflow/tfjs';

/** What a worker sends after one TBPTT step (the GradientChunk of docs/design.md §4, before encoding). */
export interface WorkerGradient {
  readonly workerId: string;
  /** The worker's own step counter: (workerId, step) identifies a gradient for deduplication. */
  readonly step: number;
  /** Parameter version the gradient was computed on. */
  readonly paramVersion: number;
  /** Steps whose loss the gradient averages (its weight). */
  readonly tokens: number;
  readonly lossSum: number;
  /** Gradient of the mean loss by parameter name. The sink takes ownership and disposes them. */
  readonly gradients: Map<string, Tensor>;
  /** input.tokenizer "words": words read without an id since the last gradient (shared/vocabulary). */
  readonly wordCounts?: ReadonlyMap<string, number> | undefined;
}

/** Where gradients go: the in-process parameter service (embedded) or the gradients topic. */
export interface GradientSink {
  submit(gradient: WorkerGradient): void | Promise<void>;
}
