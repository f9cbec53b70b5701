/**
 * "Tag the last n steps of a key": the learner keeps, per key, the inputs of its last max(k1, k2)
 * steps and the states at a few window starts (docs/design.md §3, shared/tbptt/key-sequence.ts),
 * not the outputs. The outputs of the last n steps are recomputed by replaying the stored inputs
 * from the latest stored state at or before position − n (the zero state at position 0 counts).
 * The replay uses the current parameters, so the outputs can differ from the predictions made
 * when the events arrived under older ones.
 */
import type { InputKind } from '../model/model-spec.js';
import type { StepRecord } from '../tbptt/step-record.js';
import { checkInteger } from './step-model.js';

/** The parts of a KeySequenceSnapshot a replay reads. */
export interface ReplayableKey {
  readonly key?: string | undefined;
  /** Steps since the sequence started; the newest step record is step `position`. */
  readonly position: number;
  /** The last steps' records, oldest first, the newest being step `position`. */
  readonly steps: readonly StepRecord[];
  /** States after step `position` at some positions. */
  readonly windowStarts: ReadonlyArray<{ readonly position: number; readonly state: Float32Array }>;
}

/** A labelBatch job without `keep` (use 'each'): replay `steps` inputs from `state`, drop the first `skip` outputs. */
export interface KeyReplay {
  /** The start state; undefined for the zero state at the start of the sequence. */
  readonly state: Float32Array | undefined;
  readonly tokens?: Int32Array;
  readonly features?: Float32Array;
  readonly steps: number;
  readonly skip: number;
}

/**
 * The start state and inputs whose replay yields the outputs of the key's last n steps (the
 * fewest steps that can). Throws a RangeError with the most steps this key can replay.
 */
export function replayLastSteps({
  key,
  n,
  spec,
}: {
  key: ReplayableKey;
  n: number;
  spec: { readonly inputKind: InputKind; readonly featureSize: number };
}): KeyReplay {
  checkInteger('n', n, 1, 'ask for the number of recent steps to recompute, e.g. 10');
  const start = latestStart(key, key.position - n);
  if (start === undefined) {
    const most = replayableSteps(key);
    const name = key.key === undefined ? 'the key' : `key '${key.key}'`;
    throw new RangeError(
      `n = ${n}: ${name} can replay at most its last ${most} steps (it is at step ${key.position}, keeps the inputs of its last ${key.steps.length} and states at positions [${key.windowStarts.map((w) => w.position).join(', ')}]) (fix: ask for at most ${most} steps, or raise tbptt.k2 so that keys keep more steps)`,
    );
  }

  const steps = key.position - start.position;
  const records = key.steps.slice(key.steps.length - steps);
  const replay = { state: start.state, steps, skip: steps - n };
  if (spec.inputKind === 'tokens')
    return { ...replay, tokens: Int32Array.from(records, (r) => r.inputToken ?? 0) };
  const F = spec.featureSize;
  const features = new Float32Array(steps * F);
  records.forEach((r, i) => r.inputFeatures && features.set(r.inputFeatures, i * F));
  return { ...replay, features };
}

/** The most recent steps of this key whose outputs can be recomputed (0 when none can). */
export function replayableSteps(key: ReplayableKey): number {
  const earliest = earliestStart(key);
  return earliest === undefined ? 0 : key.position - earliest;
}

/** Positions s with a known state from which the stored inputs reach the newest step. */
function starts(key: ReplayableKey): { position: number; state: Float32Array | undefined }[] {
  const oldestInput = key.position - key.steps.length; // the first stored record is step oldestInput + 1
  const all: { position: number; state: Float32Array | undefined }[] = [
    { position: 0, state: undefined },
    ...key.windowStarts,
  ];
  return all.filter((s) => s.position >= oldestInput && s.position <= key.position);
}

function latestStart(
  key: ReplayableKey,
  atMost: number,
): { position: number; state: Float32Array | undefined } | undefined {
  let best: { position: number; state: Float32Array | undefined } | undefined;
  for (const s of starts(key))
    if (s.position <= atMost && (best === undefined || s.position > best.position)) best = s;
  return best;
}

function earliestStart(key: ReplayableKey): number | undefined {
  const positions = starts(key).map((s) => s.position);
  return positions.length === 0 ? undefined : Math.min(...positions);
}
