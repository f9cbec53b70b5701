import { ShapeError } from '../../errors/index.js';
import { bosTokenId, type ModelSpec } from '../model-spec.js';
import { convContextSteps, convContextWidth } from './conv-spec.js';

/**
 * The convolution's input rows of a window or step, in plain arrays: per key the C context steps
 * its state carries (the raw inputs of the steps before the window), then the window's own steps.
 * A row with p steps of left padding (validMask 0: the state passes through them) is laid out as
 *
 *     [p empty slots] [C context steps] [the T − p real steps]
 *
 * so a real step's receptive field never reaches into padding: it reads the context exactly as a
 * row without padding would. `present` is 0 at empty slots (before a sequence start, or padding),
 * where the convolution reads a zero vector. `nextContext` is the context after the window — the
 * last C of those C + T slots — as the state stores it.
 */
export interface ConvInputRows {
  /** Steps per row: C + T. */
  readonly steps: number;
  /** [B·(C+T)] token ids (0 at empty slots). */
  readonly tokens?: Int32Array;
  /** [B·(C+T)·F] standardised features (0 at empty slots). */
  readonly features?: Float32Array;
  /** [B·(C+T)] 1 where a real input sits, 0 at empty slots. */
  readonly present: Float32Array;
  /** [B·C·w] the context after the last step, in the state's encoding (conv-spec.ts). */
  readonly nextContext: Float32Array;
}

/**
 * Lays out the convolution's inputs for `batchSize` rows of `steps` steps. `initialState`
 * ([B·S]) holds each row's context in its last C·w floats; `validMask` ([B·T], absent: all valid)
 * gives each row's left padding. Throws a ShapeError for a context slot that holds no valid input.
 */
export function convInputRows(
  spec: ModelSpec,
  {
    batchSize,
    steps,
    tokens,
    features,
    validMask,
    initialState,
  }: {
    batchSize: number;
    steps: number;
    tokens?: Int32Array | undefined;
    features?: Float32Array | undefined;
    validMask?: Float32Array | undefined;
    initialState: Float32Array;
  },
): ConvInputRows {
  const C = convContextSteps(spec);
  const w = convContextWidth(spec);
  const F = spec.featureSize;
  const isTokens = spec.inputKind === 'tokens';
  if (isTokens ? !tokens : !features)
    throw new ShapeError(`the convolution of a ${spec.inputKind} model needs ${spec.inputKind}`);
  const stateSize = initialState.length / batchSize;
  const contextAt = stateSize - C * w; // the context follows the recurrent layers' state
  if (!Number.isInteger(stateSize) || contextAt < 0)
    throw new ShapeError(
      `${initialState.length} state values for ${batchSize} keys leave no room for ${C} conv context steps of ${w} values`,
    );
  const total = C + steps;
  const outTokens = isTokens ? new Int32Array(batchSize * total) : undefined;
  const outFeatures = isTokens ? undefined : new Float32Array(batchSize * total * F);
  const present = new Float32Array(batchSize * total);
  const nextContext = new Float32Array(batchSize * C * w);

  for (let b = 0; b < batchSize; b++) {
    let padding = 0;
    while (validMask && padding < steps && validMask[b * steps + padding] === 0) padding++;
    const row = b * total;
    const context = initialState.subarray(b * stateSize + contextAt, (b + 1) * stateSize);
    for (let j = 0; j < C; j++) {
      const at = row + padding + j;
      const slot = context.subarray(j * w, j * w + w);
      const problem = contextSlotProblem(spec, slot);
      if (problem !== undefined)
        throw new ShapeError(`conv context step ${j} of key row ${b}: ${problem}`);
      if (slot[0] === 0) continue; // empty: before the sequence start
      if (isTokens) outTokens![at] = slot[0]! - 1;
      else outFeatures!.set(slot.subarray(1), at * F);
      present[at] = 1;
    }
    for (let t = padding; t < steps; t++) {
      const at = row + C + t;
      if (isTokens) outTokens![at] = tokens![b * steps + t]!;
      else
        outFeatures!.set(features!.subarray((b * steps + t) * F, (b * steps + t + 1) * F), at * F);
      present[at] = 1;
    }
    // The context after the window: the last C slots of the row, re-encoded.
    for (let j = 0; j < C; j++) {
      const from = row + steps + j;
      const to = (b * C + j) * w;
      if (present[from] === 0) continue;
      if (isTokens) nextContext[to] = outTokens![from]! + 1;
      else {
        nextContext[to] = 1;
        nextContext.set(outFeatures!.subarray(from * F, from * F + F), to + 1);
      }
    }
  }
  return {
    steps: total,
    tokens: outTokens,
    features: outFeatures,
    present,
    nextContext,
  };
}

/**
 * What is wrong with one context slot of a state (`w` floats, conv-spec.ts), or undefined: a token
 * slot holds 0 (empty) or id + 1 for an embedding row (BOS included); a feature slot a presence
 * flag 0 or 1 and, when present, finite features.
 */
export function contextSlotProblem(spec: ModelSpec, slot: ArrayLike<number>): string | undefined {
  const first = slot[0]!;
  if (spec.inputKind === 'tokens') {
    const bos = bosTokenId(spec);
    return first === 0 || (Number.isInteger(first) && first >= 1 && first <= bos + 1)
      ? undefined
      : `holds ${first}, not a token id + 1 in [1, ${bos + 1}] or 0 (empty)`;
  }
  if (first !== 0 && first !== 1) return `has presence flag ${first}, not 0 (empty) or 1`;
  for (let i = 1; i < slot.length; i++)
    if (!Number.isFinite(slot[i]!)) return `feature ${i - 1} is ${slot[i]}, not finite`;
  return undefined;
}

/** The first bad context slot of a state vector ([recurrent state, context]), or undefined. */
export function contextProblem(spec: ModelSpec, state: Float32Array): string | undefined {
  const C = convContextSteps(spec);
  const w = convContextWidth(spec);
  const at = state.length - C * w;
  for (let j = 0; j < C; j++) {
    const problem = contextSlotProblem(spec, state.subarray(at + j * w, at + (j + 1) * w));
    if (problem !== undefined) return `conv context step ${j} ${problem}`;
  }
  return undefined;
}
