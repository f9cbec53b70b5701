/**
 * Tagging and classifying with a bidirectional model (docs/design.md, "Bidirectional encoders on
 * segments"): a label reads the whole segment, so a job is a complete segment, and all jobs run
 * as one batch through the encoder (right-padded, each row's backward direction starting at its
 * own last step). No state is stepped: the segment is the whole input.
 */
import { paddedBatchSize } from '../model/batch-buckets.js';
import type { ModelSpec } from '../model/model-spec.js';
import type { TrainingBatch } from '../model/training-batch.js';
import { checkInteger } from './step-model.js';

/** What segment labelling needs of a model: logits of every step of a batch (RecurrentModel). */
export interface SegmentLabellingModel {
  readonly spec: Pick<
    ModelSpec,
    'task' | 'inputKind' | 'vocabSize' | 'featureSize' | 'outputSize' | 'bidirectional'
  >;
  forward(batch: TrainingBatch): { outputs: Float32Array };
}

export interface SegmentJob {
  /** [steps] input ids in [0, V) for a tokens model. */
  readonly tokens?: Int32Array | undefined;
  /** [steps × F] standardised input rows for a features model. */
  readonly features?: Float32Array | undefined;
  /** Steps of the segment (≥ 1). */
  readonly steps: number;
}

/**
 * Label distributions of every job's segment, in the order of `jobs`: for tag [steps × O], each
 * step's distribution; for classify [O], the segment's (read from both of its ends).
 */
export function labelSegments({
  model,
  jobs,
}: {
  model: SegmentLabellingModel;
  jobs: readonly SegmentJob[];
}): Float32Array[] {
  const { spec } = model;
  if (!spec.bidirectional || (spec.task !== 'tag' && spec.task !== 'classify'))
    throw new RangeError(
      `labelSegments runs a bidirectional tag/classify model; this one is task '${spec.task}'${spec.bidirectional ? '' : ', unidirectional'} (fix: label with labelBatch, which steps a state)`,
    );
  if (jobs.length === 0) return [];
  jobs.forEach((job, i) => checkSegment(spec, job, i));
  const rows = jobs.length;
  const steps = paddedBatchSize(Math.max(...jobs.map((j) => j.steps)));
  const F = spec.featureSize;
  const tokens = spec.inputKind === 'tokens' ? new Int32Array(rows * steps) : undefined;
  const features = spec.inputKind === 'features' ? new Float32Array(rows * steps * F) : undefined;
  const validMask = new Float32Array(rows * steps);
  jobs.forEach((job, b) => {
    if (tokens) tokens.set(job.tokens!, b * steps);
    if (features) features.set(job.features!, b * steps * F);
    validMask.fill(1, b * steps, b * steps + job.steps);
  });
  const { outputs } = model.forward({
    batchSize: rows,
    steps,
    ...(tokens ? { tokens } : {}),
    ...(features ? { features } : {}),
    classTargets: new Int32Array(rows * steps),
    lossMask: new Float32Array(rows * steps),
    validMask,
    initialState: new Float32Array(0),
  });
  const O = spec.outputSize;
  return jobs.map((job, b) => {
    // classify: every step reads the same two ends; the first step's row is the segment's.
    const kept = spec.task === 'classify' ? 1 : job.steps;
    const out = new Float32Array(kept * O);
    for (let t = 0; t < kept; t++) softmaxInto(outputs, (b * steps + t) * O, O, out, t * O);
    return out;
  });
}

function checkSegment(spec: SegmentLabellingModel['spec'], job: SegmentJob, i: number): void {
  checkInteger(`jobs[${i}].steps`, job.steps, 1, 'a segment has at least one step');
  if (spec.inputKind === 'tokens') {
    const { tokens } = job;
    if (!(tokens instanceof Int32Array) || tokens.length !== job.steps)
      throw new RangeError(
        `jobs[${i}].tokens has ${tokens?.length} ids for ${job.steps} steps (fix: one input id per step)`,
      );
    tokens.forEach((id, t) => {
      if (!(id >= 0 && id < spec.vocabSize))
        throw new RangeError(
          `jobs[${i}].tokens[${t}] = ${id}: not a token id in [0, ${spec.vocabSize}) (fix: encode with the model's tokenizer)`,
        );
    });
    return;
  }
  const { features } = job;
  if (
    !(features instanceof Float32Array) ||
    features.length !== job.steps * spec.featureSize ||
    !features.every(Number.isFinite)
  )
    throw new RangeError(
      `jobs[${i}].features has ${features?.length} values for ${job.steps} steps of ${spec.featureSize} finite standardised features (fix: one row per step)`,
    );
}

/** Softmax of logits[from, from + n) written to out[at, at + n). */
function softmaxInto(
  logits: Float32Array,
  from: number,
  n: number,
  out: Float32Array,
  at: number,
): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[from + i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[from + i]! - max);
  for (let i = 0; i < n; i++) out[at + i] = Math.exp(logits[from + i]! - max) / sum;
}
