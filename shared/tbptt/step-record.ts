/**
 * One step of one key as the TBPTT engine stores it: what the model is fed and what it must
 * predict (docs/model-math.md, "what each task feeds"). Features are already standardised.
 */
export interface StepRecord {
  readonly inputToken?: number;
  readonly inputFeatures?: Float32Array;
  readonly classTarget?: number;
  /** Forecast: [H·F] the scaled changes the head must predict, horizon step h = 1 first. */
  readonly regressionTarget?: Float32Array;
  /**
   * Forecast: [H·F] 1 where that target value has arrived (a target h steps ahead arrives h - 1
   * steps later; a missing feature never does). Absent: every value counts when `hasLoss`.
   */
  readonly targetMask?: Uint8Array;
  /** False when the step has no target (an unlabelled tag step, a non-eos classify step). */
  readonly hasLoss: boolean;
  /**
   * Segments (bidirectional models): the step's event as its prediction names it when the segment
   * closes — its index (a worker: its offset) and source line (0: none).
   */
  readonly eventIndex?: number;
  readonly eventLine?: number;
}
