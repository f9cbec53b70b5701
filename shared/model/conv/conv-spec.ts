/**
 * The causal convolutional front end's shape (docs/model-math.md, "Convolutional front end"), and
 * what it adds to a key's state: the raw inputs of the last `contextSteps` steps, which the first
 * outputs of the next step or window need. This module loads no tensor backend.
 */
import type { ModelSpec } from '../model-spec.js';

export const CONV_ACTIVATIONS = ['linear', 'tanh', 'relu'] as const;
export type ConvActivation = (typeof CONV_ACTIVATIONS)[number];

export interface ConvSpec {
  /** Taps per output channel (k ≥ 1). */
  readonly kernelWidth: number;
  /** Output channels: the first recurrent layer's input size. */
  readonly channels: number;
  /** Steps between taps (d ≥ 1): output t reads inputs t − (k−1)d, …, t − d, t. */
  readonly dilation: number;
  readonly activation: ConvActivation;
  /** Stacked convolutions, each with these settings (the first reads the input layer). */
  readonly layers: number;
}

type ConvShape = Pick<ModelSpec, 'inputKind' | 'featureSize' | 'conv'>;

/** Steps of input before a step that its output depends on: layers · (k − 1) · d (0 without conv). */
export function convContextSteps(spec: Pick<ModelSpec, 'conv'>): number {
  const conv = spec.conv;
  return conv ? conv.layers * (conv.kernelWidth - 1) * conv.dilation : 0;
}

/**
 * Floats one context step takes in the state: a token stored as id + 1, or a presence flag
 * followed by the F standardised features. Either way a slot of zeros — what a fresh or reset
 * state holds — is empty: a step before the sequence start, where the convolution reads a zero
 * vector (causal zero padding).
 */
export function convContextWidth(spec: ConvShape): number {
  return spec.inputKind === 'tokens' ? 1 : 1 + spec.featureSize;
}

/** Floats the conv context adds to a key's state vector (after the recurrent layers' parts). */
export function convStateSize(spec: ConvShape): number {
  return convContextSteps(spec) * convContextWidth(spec);
}

/** Input size of the first recurrent layer: the conv's channels, else the input layer's width. */
export function recurrentInputSize(spec: Pick<ModelSpec, 'conv' | 'embedding'>): number {
  return spec.conv ? spec.conv.channels : spec.embedding;
}

/** Largest token id a context slot holds exactly (id + 1 ≤ 2^24 in float32). */
export const MAX_CONTEXT_TOKEN_ID = 2 ** 24 - 1;
