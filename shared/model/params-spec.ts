/**
 * What a parameter service, its checkpoints and parameter files hold parameters for: a stream
 * model (ModelSpec: lm, tag, classify, forecast) or an encoder–decoder (Seq2seqSpec). The
 * paramserver treats both alike — named arrays, one update rule — and needs the difference only
 * for the seeded initial values. No tensors here: the paramserver loads no tensor backend.
 */
import { initialParameters } from './initial-parameters.js';
import type { ModelSpec } from './model-spec.js';
import {
  seq2seqInitialParameters,
  type NamedInit,
  type Seq2seqSpec,
} from './seq2seq/seq2seq-spec.js';

export type ParamsSpec = ModelSpec | Seq2seqSpec;

/** A Seq2seqSpec has no `task` (pairs are its only task); every ModelSpec has one. */
export function isSeq2seqSpec(spec: ParamsSpec): spec is Seq2seqSpec {
  return !('task' in spec);
}

/** Seeded initial values of every parameter of either kind of model, in a fixed order. */
export function initialParametersOf(spec: ParamsSpec, seed: number): NamedInit[] {
  return isSeq2seqSpec(spec) ? seq2seqInitialParameters(spec, seed) : initialParameters(spec, seed);
}

/** Same spec, whatever the key order it was written in (checkpoints and files are JSON). */
export function sameParamsSpec(a: ParamsSpec, b: ParamsSpec): boolean {
  const canonical = (s: ParamsSpec) =>
    JSON.stringify(Object.fromEntries(Object.entries(s).sort(([x], [y]) => (x < y ? -1 : 1))));
  return canonical(a) === canonical(b);
}
