import { contextProblem } from '../model/conv/conv-context.js';
import type { ModelSpec } from '../model/model-spec.js';
import { bosTokenId, horizonOf, isClassificationTask } from '../model/model-spec.js';
import type { KeySequenceSnapshot } from '../tbptt/key-sequence.js';
import type { WindowSchedule } from '../tbptt/window-schedule.js';

/**
 * Why a key's snapshot (decoded from a changelog record, so outside bytes) cannot be restored into
 * a learner of this model, or undefined when it can. A record that decodes but is inconsistent — a
 * token id past the embedding, a class id past the head, a state of another size, a NaN, counters
 * the step buffer cannot satisfy — would otherwise fail later inside a training step, where it
 * takes the whole batch (and on a restart the whole partition) with it.
 */
export function keySnapshotProblem(
  snapshot: KeySequenceSnapshot,
  { spec, stateSize, schedule }: { spec: ModelSpec; stateSize: number; schedule: WindowSchedule },
): string | undefined {
  const { position, pending, steps } = snapshot;
  const count = (name: string, x: number) =>
    Number.isSafeInteger(x) && x >= 0 ? undefined : `${name} is ${x}, not an integer >= 0`;
  const problem =
    count('position', position) ??
    count('pending', pending) ??
    count('paramVersion', snapshot.paramVersion) ??
    (pending > position ? `pending ${pending} is more than position ${position}` : undefined) ??
    // The step buffer always holds the last min(position, capacity) steps: windows read them.
    (steps.length !== Math.min(position, schedule.bufferSteps)
      ? `${steps.length} stored steps, not min(position ${position}, the buffer's ${schedule.bufferSteps} steps)${schedule.kind !== 'truncated' ? ' (task.maxSequenceSteps)' : ' (max(k1, k2))'}`
      : undefined) ??
    vectorProblem('state', snapshot.state, stateSize) ??
    windowStartsProblem(snapshot, stateSize) ??
    convContextsProblem(snapshot, spec) ??
    nextWindowProblem(snapshot, schedule) ??
    inputProblem(snapshot, spec) ??
    forecastProblem(snapshot, spec) ??
    stepsProblem(snapshot, spec);
  return problem;
}

/**
 * A forecast key needs the bases its residual head measures targets from. A record without them
 * was written before residual heads, when targets were standardised values, not changes: it
 * cannot be resumed (the key starts afresh).
 */
function forecastProblem(snapshot: KeySequenceSnapshot, spec: ModelSpec): string | undefined {
  if (spec.task !== 'forecast') return undefined;
  const memory = snapshot.forecast;
  if (!memory)
    return 'no forecast bases: the record was written before residual forecast heads (its targets are not changes)';
  const H = horizonOf(spec);
  const F = spec.featureSize;
  if (memory.lastTarget.length !== F || memory.bases.length !== H * F)
    return `forecast bases of ${memory.lastTarget.length} last values and ${memory.bases.length} step bases, not ${F} and ${H * F} (horizon ${H})`;
  for (const [name, values] of [
    ['last value', memory.lastTarget],
    ['step base', memory.bases],
  ] as const)
    for (let i = 0; i < values.length; i++)
      if (values[i] === Infinity || values[i] === -Infinity)
        return `forecast ${name} ${i} is ${values[i]}, not finite (NaN: not observed)`;
  for (const [i, step] of snapshot.steps.entries())
    if (step.targetMask?.length !== H * F)
      return `step ${i}'s target mask has ${step.targetMask?.length ?? 0} values, not ${H * F} (horizon ${H} × ${F} features)`;
  return undefined;
}

function vectorProblem(name: string, values: ArrayLike<number>, size: number): string | undefined {
  if (values.length !== size) return `${name} has ${values.length} values, not ${size}`;
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i]!)) return `${name}[${i}] is ${values[i]}, not finite`;
  return undefined;
}

/** The conv context each state carries (./conv-context-upgrade.ts gives old records an empty one). */
function convContextsProblem(snapshot: KeySequenceSnapshot, spec: ModelSpec): string | undefined {
  if (!spec.conv) return undefined;
  for (const { position, state } of [
    { position: -1, state: snapshot.state },
    ...snapshot.windowStarts,
  ]) {
    const problem = contextProblem(spec, state);
    if (problem !== undefined)
      return `${position < 0 ? 'the state' : `the window start state at ${position}`}: ${problem}`;
  }
  return undefined;
}

function windowStartsProblem(snapshot: KeySequenceSnapshot, stateSize: number): string | undefined {
  for (const { position, state } of snapshot.windowStarts) {
    if (!Number.isSafeInteger(position) || position < 0 || position > snapshot.position)
      return `a window start at position ${position}, outside [0, ${snapshot.position}]`;
    const problem = vectorProblem(`the window start state at ${position}`, state, stateSize);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The next training step's window must start at a stored state (KeySequence.window), in the range
 * the schedule allows for the step that makes the key ready: now for a ready key; for truncated
 * BPTT the k1-th pending step (an earlier eos allows a wider range, so that one is covered too);
 * for a whole sequence, which trains at its eos, the next step — its later windows start at
 * states it stores as it steps.
 */
function nextWindowProblem(
  snapshot: KeySequenceSnapshot,
  schedule: WindowSchedule,
): string | undefined {
  const { position, pending, closing } = snapshot;
  const readyAt = schedule.isReady(pending, closing)
    ? position
    : nextReadyPosition(snapshot, schedule);
  const earliest = schedule.earliestStart(readyAt);
  const latest = Math.min(schedule.latestStart(readyAt, pending + readyAt - position), position);
  if (
    earliest === 0 ||
    snapshot.windowStarts.some((s) => s.position >= earliest && s.position <= latest)
  )
    return undefined;
  return `no stored window start in [${earliest}, ${latest}] for the next training step`;
}

/** Where the key is next ready without an eos, or (a whole sequence) the next step. */
function nextReadyPosition(snapshot: KeySequenceSnapshot, schedule: WindowSchedule): number {
  for (let at = snapshot.position + 1; at <= snapshot.position + schedule.bufferSteps; at++)
    if (schedule.isReady(snapshot.pending + at - snapshot.position, false)) return at;
  return snapshot.position + 1;
}

function inputProblem(snapshot: KeySequenceSnapshot, spec: ModelSpec): string | undefined {
  if (spec.inputKind === 'tokens')
    return tokenProblem('previousToken', snapshot.previousToken, spec);
  if (snapshot.previousFeatures !== undefined)
    return vectorProblem('previousFeatures', snapshot.previousFeatures, spec.featureSize);
  return undefined;
}

/** An input token is an embedding row: a token id or the BOS row. */
function tokenProblem(name: string, id: number | undefined, spec: ModelSpec): string | undefined {
  const bos = bosTokenId(spec);
  return Number.isInteger(id) && id! >= 0 && id! <= bos
    ? undefined
    : `${name} is ${id}, not a token id in [0, ${bos}]`;
}

function stepsProblem(snapshot: KeySequenceSnapshot, spec: ModelSpec): string | undefined {
  const classes = isClassificationTask(spec.task);
  for (const [i, step] of snapshot.steps.entries()) {
    const problem =
      spec.inputKind === 'tokens'
        ? tokenProblem(`step ${i}'s input token`, step.inputToken, spec)
        : vectorProblem(`step ${i}'s input features`, step.inputFeatures ?? [], spec.featureSize);
    if (problem) return problem;
    // A bidirectional key's buffered steps are predicted at eos: each must name its event.
    if (spec.bidirectional && !Number.isSafeInteger(step.eventIndex))
      return `step ${i} of a bidirectional segment has no event index (its prediction could not name its event)`;
    if (!step.hasLoss) continue;
    if (classes) {
      const c = step.classTarget;
      if (!(Number.isInteger(c) && c! >= 0 && c! < spec.outputSize))
        return `step ${i}'s class target is ${c}, not a class id in [0, ${spec.outputSize})`;
    } else {
      const target = vectorProblem(
        `step ${i}'s regression target`,
        step.regressionTarget ?? [],
        horizonOf(spec) * spec.featureSize,
      );
      if (target) return target;
    }
  }
  return undefined;
}
