/**
 * The loop every decoder shares: each run (a prompt being fed, a sampled sequence, a beam search,
 * a sequence being labelled) says which rows it needs computed next, and all rows of all runs go
 * through ONE predictStep call per time step. A batch of N requests therefore costs about as many
 * model calls as its longest request, not N times that.
 */

/** One row of a batched step: its input (a token id, or a feature vector) and the state before it. */
export interface StepRow {
  readonly token?: number;
  readonly features?: Float32Array;
  readonly state: Float32Array;
}

/** What the step computed for one row: the head's outputs [O] and the state after it [S]. */
export interface RowResult {
  /** A view into the batch's outputs: copy it to keep it beyond the run. */
  readonly outputs: Float32Array;
  /** A view into the batch's states: copy it to keep it beyond the run. */
  readonly state: Float32Array;
}

/** A computation the batch loop advances one time step at a time. */
export interface SteppedRun {
  /**
   * The rows this run needs computed in the next step, in order; empty once it has finished.
   * Called exactly once per step, between steps (so it may check a deadline).
   */
  nextRows(): readonly StepRow[];
  /** The results of the rows it asked for in the last call to nextRows, in the same order. */
  accept(results: readonly RowResult[]): void;
}

/** The model as the loop sees it: StepModel and StepPredictor both fit. */
export interface BatchStepModel {
  readonly stateSize: number;
  predictStep(input: {
    batchSize: number;
    tokens?: Int32Array;
    features?: Float32Array;
    state: Float32Array;
  }): { outputs: Float32Array; state: Float32Array };
}

export interface RunStepsOptions {
  readonly model: BatchStepModel;
  readonly runs: readonly SteppedRun[];
  /** What every row feeds: a token id or a feature vector of `featureSize`. */
  readonly input:
    { readonly kind: 'tokens' } | { readonly kind: 'features'; readonly featureSize: number };
  /** Floats of output per row. */
  readonly outputSize: number;
  /** Throws unless one predictStep answer has the expected sizes (its message names the fix). */
  readonly checkOutput: (
    out: { outputs: Float32Array; state: Float32Array },
    batchSize: number,
  ) => void;
}

/** Steps all runs together until none of them asks for a row. Returns the number of predictStep calls. */
export function runSteps(options: RunStepsOptions): number {
  let calls = 0;
  while (stepOnce(options)) calls++;
  return calls;
}

/**
 * runSteps that lets the event loop run (setImmediate) once `yieldEveryMs` have passed since it
 * last did: a service keeps its timers, heartbeats and sends — streamed tokens — going while a
 * long batch is computed. The same steps in the same order, so the same results.
 */
export async function runStepsYielding(
  options: RunStepsOptions & { readonly yieldEveryMs: number },
): Promise<number> {
  let calls = 0;
  let yielded = performance.now();
  while (stepOnce(options)) {
    calls++;
    if (performance.now() - yielded >= options.yieldEveryMs) {
      await new Promise((resolve) => setImmediate(resolve));
      yielded = performance.now();
    }
  }
  return calls;
}

/** One time step of every run that asks for rows: false once none does. */
function stepOnce({ model, runs, input, outputSize, checkOutput }: RunStepsOptions): boolean {
  const S = model.stateSize;
  const asked = runs.map((run) => run.nextRows());
  const batchSize = asked.reduce((n, rows) => n + rows.length, 0);
  if (batchSize === 0) return false;

  const state = new Float32Array(batchSize * S);
  const tokens = input.kind === 'tokens' ? new Int32Array(batchSize) : undefined;
  const features =
    input.kind === 'features' ? new Float32Array(batchSize * input.featureSize) : undefined;
  let b = 0;
  for (const rows of asked) {
    for (const row of rows) {
      state.set(row.state, b * S);
      if (tokens) tokens[b] = row.token!;
      if (features && input.kind === 'features') features.set(row.features!, b * input.featureSize);
      b++;
    }
  }
  const out = model.predictStep({ batchSize, tokens, features, state });
  checkOutput(out, batchSize);

  b = 0;
  asked.forEach((rows, r) => {
    if (rows.length === 0) return;
    const results = rows.map((_, i) => ({
      outputs: out.outputs.subarray((b + i) * outputSize, (b + i + 1) * outputSize),
      state: out.state.subarray((b + i) * S, (b + i + 1) * S),
    }));
    b += rows.length;
    runs[r]!.accept(results);
  });
  return true;
}

/** Runs `check` for the job at `index`, prefixing a RangeError with `jobs[index]: ` so the caller knows which job. */
export function withJobIndex<T>(index: number, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof RangeError) throw new RangeError(`jobs[${index}]: ${error.message}`);
    throw error;
  }
}
