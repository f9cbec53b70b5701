import { InputError } from '../errors/index.js';
import { renderValue } from '../errors/render-value.js';
import type { StreamEvent } from '../events/stream-event.js';
import type { ModelSpec } from '../model/model-spec.js';

export interface TokenEncoder {
  encode(token: string | number, { line }: { line?: number | undefined }): number;
  decode(id: number): string;
  /** The text of an id can change (a words vocabulary admits words online). */
  readonly growing?: boolean;
}
export interface LabelIds {
  idOf(label: string | number, { line }: { line?: number | undefined }): number;
  labelOf(id: number): string | number | undefined;
  readonly size: number;
}
/** The online statistics of a key space's features (shared/events/feature-normalizer.ts). */
export interface Standardizer {
  /** Standardised with the statistics so far; a missing (NaN) value stays NaN. */
  normalize(features: ArrayLike<number>): Float32Array;
  /** Adds a vector to the statistics; missing (NaN) values are skipped. */
  observe(features: ArrayLike<number>): void;
  denormalize(z: ArrayLike<number>): Float64Array;
  /** Running mean of feature i. */
  meanOf(i: number): number;
  /** The unit of a residual forecast head's changes (shared/events/change-scale.ts). */
  readonly changes: {
    scale(h: number, f: number): number;
    observe(h: number, f: number, change: number): void;
  };
}

/** An event checked against the model and turned into ids and standardised vectors. */
export interface EncodedEvent {
  readonly event: StreamEvent;
  readonly line?: number | undefined;
  readonly index: number;
  readonly token?: number;
  /** Standardised features of this event (not for forecast: the learner standardises those in order). */
  readonly features?: Float32Array;
  readonly classTarget?: number;
  /** Forecast: the target vector in original units (the label, else the features; NaN = missing). */
  readonly rawTarget?: readonly number[];
  readonly hasLoss: boolean;
}

/**
 * Validates an event against the task and input kind and encodes it. Every check runs before
 * anything is learned from the event (label discovery and the normaliser's statistics come
 * last), so a rejected event changes nothing.
 *
 * A forecast event's features are not standardised here: its prediction is read out in original
 * units with the statistics of the events before it, so the learner standardises and observes
 * them when it steps the event (a batch is encoded before its first event is predicted).
 */
export function encodeEvent({
  event,
  line,
  index,
  spec,
  tokens,
  labels,
  normalizer,
}: {
  event: StreamEvent;
  line?: number | undefined;
  index: number;
  spec: ModelSpec;
  tokens: TokenEncoder;
  labels: LabelIds;
  normalizer: Standardizer;
}): EncodedEvent {
  const where = { line };
  if (spec.inputKind === 'tokens' && event.token === undefined) {
    throw new InputError({
      line,
      reason: `event of key '${event.key}' has features but this model reads tokens (input.kind "tokens")`,
      fix: 'send "token", or set input.kind to "features" in the config',
    });
  }
  if (spec.inputKind === 'features' && event.features === undefined) {
    throw new InputError({
      line,
      reason: `event of key '${event.key}' has a token but this model reads features (input.kind "features")`,
      fix: 'send "features", or set input.kind to "tokens" in the config',
    });
  }
  if (event.features !== undefined && event.features.length !== spec.featureSize) {
    throw new InputError({
      line,
      reason: `event of key '${event.key}' has ${event.features.length} features but input.featureSize is ${spec.featureSize}`,
      fix: `send ${spec.featureSize} numbers, or set input.featureSize`,
    });
  }
  const missing = event.features?.findIndex((x) => Number.isNaN(x)) ?? -1;
  if (missing >= 0 && spec.task !== 'forecast') {
    throw new InputError({
      line,
      reason: `feature ${missing} of key '${event.key}' is missing (null), but only a forecast model fills in missing features (task.type "${spec.task}")`,
      fix: 'send a number for every feature (e.g. the last reading), or leave the event out',
    });
  }
  const token = event.token === undefined ? undefined : tokens.encode(event.token, where);
  const label = event.label;
  let classTarget: number | undefined;
  let rawTarget: readonly number[] | undefined;
  let hasLoss = false;
  switch (spec.task) {
    case 'lm':
      classTarget = token;
      hasLoss = true;
      break;
    case 'tag':
    case 'classify':
      if (Array.isArray(label)) {
        throw new InputError({
          line,
          reason: `label ${renderValue(label)} is a vector but task '${spec.task}' takes a class label`,
          fix: 'send a string or integer label',
        });
      }
      if (label !== undefined && (spec.task === 'tag' || event.eos)) {
        classTarget = labels.idOf(label as string | number, where);
        hasLoss = true;
      }
      break;
    case 'forecast':
      if (label !== undefined) {
        if (!Array.isArray(label) || label.length !== spec.featureSize) {
          throw new InputError({
            line,
            reason: `forecast label ${renderValue(label)} must be a vector of ${spec.featureSize} numbers`,
            fix: 'send the target feature vector as "label", or omit it to forecast the next event\'s features',
          });
        }
        rawTarget = label;
      } else {
        rawTarget = event.features;
      }
      hasLoss = true;
      break;
  }
  let features: Float32Array | undefined;
  if (event.features !== undefined && spec.task !== 'forecast') {
    features = normalizer.normalize(event.features); // statistics before this event: prequential
    normalizer.observe(event.features);
  }
  return { event, line, index, token, features, classTarget, rawTarget, hasLoss };
}
