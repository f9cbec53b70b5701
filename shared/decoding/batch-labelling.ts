/**
 * Tagging, classifying and forecasting for many requests at once (the decoder service, issue 16):
 * every job is a sequence of inputs stepped from its own state, and all jobs share ONE predictStep
 * per time step (batched-steps.ts). What a step's output means follows the task
 * (shared/learner/stream-learner.ts): for tag/classify the input is the event's own token or
 * features and the output its label distribution; for lm/forecast the input is the previous
 * event's token/features and the output predicts the current event (for forecast: as changes
 * from the last value, shared/learner/residual-forecast.ts).
 */
import type { InputKind, TaskType } from '../model/model-spec.js';
import {
  runSteps,
  withJobIndex,
  type RowResult,
  type StepRow,
  type SteppedRun,
} from './batched-steps.js';
import { checkInteger } from './step-model.js';

/** What labelling and forecasting need of a model; RecurrentModel and every StepPredictor fit. */
export interface LabellingModel {
  readonly spec: {
    readonly task: TaskType;
    readonly inputKind: InputKind;
    /** Token ids in [0, V); V itself is the BOS input. */
    readonly vocabSize: number;
    readonly featureSize: number;
    readonly outputSize: number;
    /** Forecast horizon H (absent: 1): a forecast head has H·F outputs. */
    readonly horizon?: number;
  };
  readonly stateSize: number;
  predictStep(input: {
    batchSize: number;
    tokens?: Int32Array;
    features?: Float32Array;
    state: Float32Array;
  }): { outputs: Float32Array; state: Float32Array };
}

export interface LabelJob {
  /** The state before the first input [S]; absent: the zero state of a new sequence. */
  readonly state?: Float32Array | undefined;
  /** [steps] input ids in [0, V] (V = BOS) for a tokens model. */
  readonly tokens?: Int32Array | undefined;
  /** [steps × F] standardised input rows for a features model. */
  readonly features?: Float32Array | undefined;
  /** Number of inputs to feed (≥ 1). */
  readonly steps: number;
  /** 'each': the output of every step (after `skip`); 'last': only the last step's. */
  readonly keep: 'each' | 'last';
  /** With 'each': the first `skip` steps only carry the state forward, their outputs are dropped (default 0). */
  readonly skip?: number | undefined;
}

export interface LabelOutcome {
  /** Kept outputs, one row of O per kept step in order: probabilities for tag/classify/lm, standardised values for forecast. */
  readonly outputs: Float32Array;
  /** The state after the last step [S]. */
  readonly state: Float32Array;
}

/** Steps every job through its inputs, all jobs together; outcomes in the order of `jobs`. */
export function labelBatch({
  model,
  jobs,
}: {
  model: LabellingModel;
  jobs: readonly LabelJob[];
}): LabelOutcome[] {
  const runs = jobs.map((job, i) => withJobIndex(i, () => new LabelRun(model, job)));
  runJobs(model, runs);
  return runs.map((run) => run.outcome());
}

export interface ForecastJob {
  /** The state before the first input [S]; absent: the zero state of a new sequence. */
  readonly state?: Float32Array | undefined;
  /** [rows × F] standardised inputs fed first, their outputs dropped (default none). */
  readonly feed?: Float32Array | undefined;
  /**
   * [F] the next input: for a key, its last event's standardised features (the state has not
   * seen them yet, they are the input of the step that predicts the following event).
   */
  readonly next: Float32Array;
  /** Number of future vectors to predict (≥ 1); each prediction is the input of the next step. */
  readonly steps: number;
  /**
   * [F] the last observed value of each feature in original units: what the head's first
   * predicted change is added to. Each forecast is then the base of the next.
   */
  readonly base: Float64Array;
  /** The key space's statistics: the unit of the head's changes, the standardisation of inputs. */
  readonly units: ForecastUnits;
}

/** The statistics a residual forecast is read and fed back with (a FeatureNormalizer fits). */
export interface ForecastUnits {
  /** Standardised input of a vector in original units. */
  normalize(values: ArrayLike<number>): Float32Array;
  readonly changes: { scale(h: number, f: number): number };
}

export interface ForecastOutcome {
  /** [steps × F] the predicted vectors in original units, in order. */
  readonly forecasts: Float64Array;
  /** The state after the last step (it has consumed every input but the last forecast) [S]. */
  readonly state: Float32Array;
}

/**
 * Autoregressive forecasts for a forecast model: feed `feed`, then `next`, then each prediction
 * back in, all jobs together one step per predictStep. A prediction is the base plus the head's
 * one-step change (its h = 1 outputs) in the unit of the change statistics; it becomes the base
 * and, standardised, the input of the next step.
 */
export function forecastBatch({
  model,
  jobs,
}: {
  model: LabellingModel;
  jobs: readonly ForecastJob[];
}): ForecastOutcome[] {
  const { task, inputKind, featureSize, outputSize, horizon = 1 } = model.spec;
  if (task !== 'forecast' || inputKind !== 'features' || outputSize !== featureSize * horizon) {
    throw new RangeError(
      `model task = '${task}', input.kind = '${inputKind}', output size ${outputSize} for ${featureSize} features × horizon ${horizon}: forecasting feeds each prediction back as the next input (fix: forecast with a 'forecast' model on 'features' input; tag/classify/lm models are answered by labelBatch or generation)`,
    );
  }
  const runs = jobs.map((job, i) => withJobIndex(i, () => new ForecastRun(model, job)));
  runJobs(model, runs);
  return runs.map((run) => run.outcome());
}

class LabelRun implements SteppedRun {
  private readonly job: LabelJob;
  private readonly featureSize: number;
  private readonly outputSize: number;
  private readonly skip: number;
  private readonly outputs: Float32Array;
  private current: Float32Array;
  private t = 0;

  constructor(model: LabellingModel, job: LabelJob) {
    const { steps, keep, skip = 0 } = job;
    checkInteger('steps', steps, 1, 'ask for at least one step');
    if (keep !== 'each' && keep !== 'last') {
      throw new RangeError(
        `keep = ${JSON.stringify(keep)}: must be 'each' or 'last' (fix: 'each' for every step's output, 'last' for the final one)`,
      );
    }
    checkInteger('skip', skip, 0, 'use 0 to keep every step');
    if (skip >= steps)
      throw new RangeError(
        `skip = ${skip}: must be below steps = ${steps} (fix: skip only the steps that lead up to the ones you want)`,
      );
    checkInputs(model, job.tokens, job.features, steps);
    this.job = job;
    this.featureSize = model.spec.featureSize;
    this.outputSize = model.spec.outputSize;
    this.skip = keep === 'each' ? skip : 0;
    this.outputs = new Float32Array((keep === 'each' ? steps - skip : 1) * this.outputSize);
    this.current = startState(model, job.state);
  }

  nextRows(): readonly StepRow[] {
    const { t, job, featureSize: F } = this;
    if (t === job.steps) return [];
    return [
      {
        token: job.tokens?.[t],
        features: job.features?.subarray(t * F, (t + 1) * F),
        state: this.current,
      },
    ];
  }

  accept([row]: readonly RowResult[]): void {
    const { t, job, outputSize: O } = this;
    this.current = row!.state;
    if (job.keep === 'each' && t >= this.skip) this.outputs.set(row!.outputs, (t - this.skip) * O);
    if (job.keep === 'last' && t === job.steps - 1) this.outputs.set(row!.outputs);
    this.t++;
  }

  outcome(): LabelOutcome {
    return { outputs: this.outputs, state: this.current.slice() };
  }
}

class ForecastRun implements SteppedRun {
  private readonly feed: Float32Array;
  private readonly steps: number;
  private readonly featureSize: number;
  private readonly feedRows: number;
  private readonly forecasts: Float64Array;
  private readonly base: Float64Array;
  private readonly units: ForecastUnits;
  private input: Float32Array;
  private current: Float32Array;
  private t = 0;

  constructor(model: LabellingModel, job: ForecastJob) {
    const F = model.spec.featureSize;
    checkInteger('steps', job.steps, 1, 'ask for at least one future step');
    const feed = job.feed ?? new Float32Array(0);
    if (!(feed instanceof Float32Array) || feed.length % F !== 0 || !allFinite(feed)) {
      throw new RangeError(
        `feed has ${feed?.length} values: must be finite standardised rows of ${F} features (fix: pass whole rows, standardised with the key's normaliser)`,
      );
    }
    const next = job.next;
    if (!(next instanceof Float32Array) || next.length !== F || !allFinite(next)) {
      throw new RangeError(
        `next has ${next?.length} values: must be ${F} finite standardised features (fix: pass the last event's standardised features, e.g. the key's previousFeatures)`,
      );
    }
    const base = job.base;
    if (!(base instanceof Float64Array) || base.length !== F || !base.every(Number.isFinite)) {
      throw new RangeError(
        `base has ${base?.length} values: must be ${F} finite values in original units (fix: pass the key's last observed values, the running mean where it has none)`,
      );
    }
    this.feed = feed;
    this.input = next;
    this.steps = job.steps;
    this.featureSize = F;
    this.feedRows = feed.length / F;
    this.forecasts = new Float64Array(job.steps * F);
    this.base = base.slice();
    this.units = job.units;
    this.current = startState(model, job.state);
  }

  nextRows(): readonly StepRow[] {
    const { t, feedRows, featureSize: F } = this;
    if (t === feedRows + this.steps) return [];
    const features = t < feedRows ? this.feed.subarray(t * F, (t + 1) * F) : this.input;
    return [{ features, state: this.current }];
  }

  accept([row]: readonly RowResult[]): void {
    this.current = row!.state;
    if (this.t >= this.feedRows) {
      const F = this.featureSize;
      const at = (this.t - this.feedRows) * F;
      for (let f = 0; f < F; f++) {
        this.base[f]! += row!.outputs[f]! * this.units.changes.scale(1, f);
        this.forecasts[at + f] = this.base[f]!;
      }
      this.input = this.units.normalize(this.base);
    }
    this.t++;
  }

  outcome(): ForecastOutcome {
    return { forecasts: this.forecasts, state: this.current.slice() };
  }
}

function runJobs(model: LabellingModel, runs: readonly SteppedRun[]): void {
  const { inputKind, featureSize, outputSize } = model.spec;
  const S = model.stateSize;
  runSteps({
    model,
    runs,
    input: inputKind === 'tokens' ? { kind: 'tokens' } : { kind: 'features', featureSize },
    outputSize,
    checkOutput: (out, batchSize) => {
      if (out.outputs.length !== batchSize * outputSize || out.state.length !== batchSize * S) {
        throw new RangeError(
          `predictStep returned ${out.outputs.length} outputs and ${out.state.length} state values for batch ${batchSize}; expected ${batchSize * outputSize} (O = ${outputSize}) and ${batchSize * S} (S = ${S}) (fix: the model must match its spec)`,
        );
      }
    },
  });
}

/** Checks the inputs a job feeds: ids for a tokens model, finite rows for a features model. */
function checkInputs(
  model: LabellingModel,
  tokens: Int32Array | undefined,
  features: Float32Array | undefined,
  steps: number,
): void {
  const { inputKind, vocabSize: V, featureSize: F } = model.spec;
  if (inputKind === 'tokens') {
    if (!(tokens instanceof Int32Array) || tokens.length !== steps) {
      throw new RangeError(
        `tokens has ${tokens?.length} ids for ${steps} steps: a tokens model needs an Int32Array of one input id per step (fix: pass ${steps} ids)`,
      );
    }
    tokens.forEach((id, i) => {
      if (id < 0 || id > V)
        throw new RangeError(
          `tokens[${i}] = ${id}: not an input id in [0, ${V}] (fix: encode with the model's tokenizer; ${V} is BOS)`,
        );
    });
  } else if (
    !(features instanceof Float32Array) ||
    features.length !== steps * F ||
    !allFinite(features)
  ) {
    throw new RangeError(
      `features has ${features?.length} values for ${steps} steps: a features model needs ${steps * F} finite standardised values (${F} per step) (fix: pass one standardised row per step)`,
    );
  }
}

function startState(model: LabellingModel, state: Float32Array | undefined): Float32Array {
  const S = model.stateSize;
  if (state === undefined) return new Float32Array(S);
  if (!(state instanceof Float32Array) || state.length !== S || !allFinite(state)) {
    throw new RangeError(
      `state has ${state?.length} values: must be ${S} finite values (fix: pass a state produced by this model configuration, or none for a new sequence)`,
    );
  }
  return state;
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}
