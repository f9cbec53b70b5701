/**
 * One batch of k2-step windows, laid out row-major as [B, T, ...] in plain typed arrays so that the
 * TBPTT engine, the float64 test reference and a fused kernel all read the same thing.
 * Short histories are LEFT-padded: a key with n < T steps fills positions T-n..T-1, and at padded
 * positions the state passes through unchanged (validMask = 0) and no loss counts (lossMask = 0).
 */
export interface TrainingBatch {
  readonly batchSize: number;
  readonly steps: number;
  /** [B*T] input token ids (tokens input), BOS id allowed. */
  readonly tokens?: Int32Array;
  /** [B*T*F] standardised input features (features input). */
  readonly features?: Float32Array;
  /** [B*T] target class ids (lm, tag, classify) — 0 where lossMask is 0. */
  readonly classTargets?: Int32Array;
  /** [B*T*O] forecast targets: scaled changes from the step's base, O = H·F (h = 1 first). */
  readonly regressionTargets?: Float32Array;
  /**
   * [B*T*O] forecast: 1 where that target value counts (it has arrived, in this training step).
   * With it, a step's loss is Σ_(h,f) mask·(y - target)² / F and `lossMask` holds the number of
   * horizon steps h that count at the step. Absent: every value of a step with loss counts and the
   * step's loss is the mean squared error over its O values.
   */
  readonly targetMask?: Float32Array;
  /** [B*T] 1 where the step's loss counts (forecast with targetMask: how many of its H targets). */
  readonly lossMask: Float32Array;
  /** [B*T] 0 at left padding, 1 at real steps. */
  readonly validMask: Float32Array;
  /**
   * [B*S] state at the window start (S = stateSize(spec)); treated as a constant. With a conv
   * front end it ends with the window's left context: the raw inputs of the steps before it.
   */
  readonly initialState: Float32Array;
  /** Variational dropout masks, already scaled (0 or 1/(1-rate)); absent means no dropout. */
  readonly dropoutMasks?: DropoutMasks;
}

export interface DropoutMasks {
  /** Per layer, [B*d] where d is that layer's input size; undefined entry = no input dropout. */
  readonly input: ReadonlyArray<Float32Array | undefined>;
  /** Per layer, [B*H]; undefined entry = no recurrent dropout. */
  readonly recurrent: ReadonlyArray<Float32Array | undefined>;
}
