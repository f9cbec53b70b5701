/**
 * An optimizer over parameters held in host memory (Float32Arrays), stepped in place: the
 * parameter service's update (the paramserver's, and an embedded run's in process). Its state lives in host memory between rounds too, so checkpoints
 * and published versions are written from the arrays without a download, and a round allocates
 * nothing (the per-round buffers of a backend optimizer cost the service more in copies and
 * garbage collection than the arithmetic itself; BENCHMARKS.md, "Parameter service rounds").
 *
 * Values are computed in float64 and rounded to float32 once per stored element, so the results
 * are deterministic for a given input order (bit-exact restarts, and embedded runs equal to
 * distributed ones).
 */
export interface HostOptimizer {
  readonly type: 'adam' | 'sgd';
  /** Number of updates applied so far. */
  readonly step: number;
  /**
   * One update of every parameter from `gradients` (same names and lengths) multiplied by
   * `gradientScale` (the clip factor; 1 leaves them as they are).
   */
  apply(
    params: ReadonlyMap<string, Float32Array>,
    gradients: ReadonlyMap<string, Float32Array>,
    options: { learningRate: number; gradientScale: number },
  ): void;
  /**
   * Slot values by `<slot>:<parameter name>` (the keys checkpoints store them under), plus the
   * step. The arrays are the live slots: they change
   * with the next apply.
   */
  saveState(): { step: number; slots: Map<string, Float32Array> };
  /** Takes copies of the slots; a slot's length must be its parameter's. */
  restoreState(
    state: { step: number; slots: ReadonlyMap<string, Float32Array> },
    params: ReadonlyMap<string, Float32Array>,
  ): void;
}
