import { convStateSize, type ConvSpec } from './conv/conv-spec.js';

/** Everything that fixes the shapes and the mathematics of a model (see docs/model-math.md). */
export type TaskType = 'lm' | 'tag' | 'classify' | 'forecast';
export type CellType = 'lstm' | 'gru' | 'rnn';
export type InputKind = 'tokens' | 'features';

export interface ModelSpec {
  readonly task: TaskType;
  readonly inputKind: InputKind;
  /** Number of token ids (V); the BOS row of the embedding is id V. */
  readonly vocabSize: number;
  /** Number of numeric features (F) for `features` input and `forecast` targets. */
  readonly featureSize: number;
  /**
   * Size of the head's output: V for lm, K labels for tag/classify, H·F for forecast (horizon
   * step h's F values at [(h-1)·F, h·F)).
   */
  readonly outputSize: number;
  /**
   * Forecast: the future feature vectors each step predicts (H ≥ 1); 1 for the other tasks.
   * Absent in specs written before horizons existed: 1.
   */
  readonly horizon?: number;
  readonly cell: CellType;
  readonly layers: number;
  readonly hidden: number;
  readonly embedding: number;
  readonly peepholes: boolean;
  readonly coupledGates: boolean;
  readonly dropout: number;
  readonly recurrentDropout: number;
  /**
   * tag/classify on segments closed by eos: forward and backward layers, predicted once the
   * segment is complete (shared/model/bidirectional). Absent in older specs: false.
   */
  readonly bidirectional?: boolean;
  /** A causal convolution over the inputs before the recurrent layers; absent: none. */
  readonly conv?: ConvSpec | undefined;
}

/** Floats of state one key carries per layer: h, plus c for the LSTM. */
export function stateSizePerLayer(spec: Pick<ModelSpec, 'cell' | 'hidden'>): number {
  return spec.cell === 'lstm' ? 2 * spec.hidden : spec.hidden;
}

/** Floats of the recurrent layers' state `[h_0, c_0, h_1, c_1, ...]`. */
export function recurrentStateSize(spec: Pick<ModelSpec, 'cell' | 'hidden' | 'layers'>): number {
  return spec.layers * stateSizePerLayer(spec);
}

/**
 * Length of the flat per-key state vector: the recurrent layers' `[h_0, c_0, h_1, c_1, ...]`,
 * then, with a conv front end, its context (the raw inputs of the last steps, ./conv/conv-spec.ts).
 * 0 for a bidirectional model, which carries no state from step to step (a key buffers its
 * segment instead; a conv front end is refused with it, shared/config/conv-rules.ts).
 */
export function stateSize(
  spec: Pick<
    ModelSpec,
    'cell' | 'hidden' | 'layers' | 'inputKind' | 'featureSize' | 'conv' | 'bidirectional'
  >,
): number {
  return spec.bidirectional ? 0 : recurrentStateSize(spec) + convStateSize(spec);
}

/** Id of the BOS embedding row: one past the last output token. */
export function bosTokenId(spec: Pick<ModelSpec, 'vocabSize'>): number {
  return spec.vocabSize;
}

/** True when the head is a softmax over classes (targets are class ids), false for regression. */
export function isClassificationTask(task: TaskType): boolean {
  return task !== 'forecast';
}

/** The forecast horizon H of a spec (1 when absent or not a forecast). */
export function horizonOf(spec: Pick<ModelSpec, 'task' | 'horizon'>): number {
  return spec.task === 'forecast' ? (spec.horizon ?? 1) : 1;
}
