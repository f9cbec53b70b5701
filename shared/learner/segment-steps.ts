/**
 * The learner's side of a bidirectional model (docs/design.md, "Bidirectional encoders on
 * segments"): a key buffers its segment's steps in its step buffer (so the changelog carries them)
 * and nothing is predicted before the segment's eos; then every step of it is predicted at once,
 * before the segment is learned from, and each prediction names its own event.
 */
import { InputError } from '../errors/index.js';
import { renderValue } from '../errors/render-value.js';
import type { Prediction } from '../events/prediction.js';
import { paddedBatchSize } from '../model/batch-buckets.js';
import type { ModelSpec } from '../model/model-spec.js';
import type { TrainingBatch } from '../model/training-batch.js';
import type { KeySequence } from '../tbptt/key-sequence.js';
import type { StepRecord } from '../tbptt/step-record.js';
import { buildWindowBatch } from '../tbptt/window-batch.js';
import type { EncodedEvent, LabelIds } from './event-encoder.js';

/** An event the learner refused after it was encoded: a dead letter (worker) or a skip (embedded). */
export interface RejectedEvent {
  readonly index: number;
  readonly line?: number | undefined;
  readonly key: string;
  readonly error: InputError;
}

/** What a segment model needs to predict: logits [B*T*O] of a batch of whole segments. */
export interface SegmentPredictor {
  readonly spec: ModelSpec;
  readonly params: { readonly version: number };
  forward(batch: TrainingBatch): { outputs: Float32Array };
}

/** A tag/classify event as a buffered segment step, with the identity its prediction will carry. */
export function segmentStepRecord(e: EncodedEvent): StepRecord {
  return {
    inputToken: e.token,
    inputFeatures: e.features,
    classTarget: e.classTarget,
    hasLoss: e.hasLoss,
    eventIndex: e.index,
    eventLine: e.line ?? 0,
  };
}

/**
 * The rejection of an event that would be step maxSteps + 1 of its key's open segment, or
 * undefined when it fits. A segment is never truncated: this event and every later one of the
 * segment are refused, and the segment's eos drops the steps buffered so far (the caller resets
 * the key), so the key's next segment starts clean.
 */
export function segmentOverflow(
  sequence: KeySequence,
  e: EncodedEvent,
  maxSteps: number,
): RejectedEvent | undefined {
  if (sequence.position < maxSteps) return undefined;
  const key = renderValue(sequence.key);
  return {
    index: e.index,
    line: e.line,
    key: sequence.key,
    error: new InputError({
      line: e.line,
      reason:
        `the segment of key ${key} already has task.maxSequenceSteps = ${maxSteps} steps, the most a ` +
        `bidirectional model buffers per key: this event is refused, as is every further one up to ` +
        `the segment's eos, which drops its ${sequence.position} buffered steps unpredicted`,
      fix: `close segments with "eos": true within ${maxSteps} events, or raise task.maxSequenceSteps`,
    }),
  };
}

/**
 * Predictions for every step of the closed segments of `keys` (oldest step first, key by key),
 * computed from the segments as a whole with the current parameters, before they are learned
 * from. tag: each step's own label; classify: the segment's label at every step (the head reads
 * both ends), with `actual` at the eos step only, where the label is.
 */
export function predictSegments({
  model,
  labels,
  keys,
}: {
  model: SegmentPredictor;
  labels: LabelIds;
  keys: readonly KeySequence[];
}): Prediction[] {
  const { spec } = model;
  const windows = keys.map((k) => k.window());
  const longest = Math.max(...windows.map((w) => w.length));
  const batch = buildWindowBatch({
    spec,
    keys,
    windows,
    align: 'start',
    markPadding: true,
    // Few distinct shapes over a long run (batch-buckets.ts).
    steps: paddedBatchSize(longest),
  });
  const { outputs } = model.forward(batch);
  const o = spec.outputSize;
  const known = Math.min(labels.size, o);
  const paramVersion = model.params.version;
  const task = spec.task === 'classify' ? 'classify' : 'tag';
  const predictions: Prediction[] = [];
  keys.forEach((sequence, b) => {
    const steps = sequence.buffer.exportSteps();
    steps.forEach((step, t) => {
      const offset = (b * batch.steps + t) * o;
      const probabilities = softmax(outputs, offset, o);
      const best = known > 0 ? argmax(probabilities, known) : undefined;
      predictions.push({
        index: step.eventIndex ?? 0,
        key: sequence.key,
        line: step.eventLine ? step.eventLine : undefined,
        task,
        paramVersion,
        eos: t === steps.length - 1 || undefined,
        label: best === undefined ? undefined : labels.labelOf(best),
        confidence: best === undefined ? undefined : probabilities[best],
        actual:
          step.hasLoss && step.classTarget !== undefined
            ? labels.labelOf(step.classTarget)
            : undefined,
      });
    });
  });
  return predictions;
}

/** Softmax of logits[offset, offset + n) in float64 (stable: the max is subtracted first). */
function softmax(logits: Float32Array, offset: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]!);
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out[i] = Math.exp(logits[offset + i]! - max);
  for (let i = 0; i < n; i++) out[i]! /= sum;
  return out;
}

function argmax(values: Float64Array, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
