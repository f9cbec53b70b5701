import { InputError } from '../errors/index.js';
import { renderValue } from '../errors/render-value.js';
import type { StreamEvent } from '../events/stream-event.js';
import type { ModelSpec } from '../model/model-spec.js';

export interface TokenEncoder {
  encode(token: string | number, { line }: { line?: number | undefined }): number;
  decode(id: number): string;
}
export interface LabelIds {
  idOf(label: string | number, { line }: { line?: number | undefined }): number;
  labelOf(id: number): string | number | undefined;
  readonly size: number;
}
export interface Standardizer {
  normalize(features: ArrayLike<number>): Float32Array;
  observe(features: ArrayLike<number>): void;
  denormalize(z: ArrayLike<number>): Float64Array;
}

/** An event checked against the model and turned into ids and standardised vectors. */
export interface EncodedEvent {
  readonly event: StreamEvent;
  readonly line?: number | undefined;
  readonly index: number;
  readonly token?: number;
  /** Standardised features of this event. */
  readonly features?: Float32Array;
  readonly classTarget?: number;
  /** Standardised regression target and the same in original units. */
  readonly regressionTarget?: Float32Array;
  readonly rawTarget?: readonly number[];
  readonly hasLoss: boolean;
}

/**
 * Validates an event against the task and input kind and encodes it. Every check runs before
 * anything is learned from the event (label discovery and the normaliser's statistics come
 * last), so a rejected event changes nothing.
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
  let regressionTarget: Float32Array | undefined;
  if (event.features !== undefined) {
    features = normalizer.normalize(event.features); // statistics before this event: prequential
    if (spec.task === 'forecast')
      regressionTarget = label === undefined ? features : normalizer.normalize(rawTarget!);
    normalizer.observe(event.features);
  }
  return { event, line, index, token, features, classTarget, regressionTarget, rawTarget, hasLoss };
}
