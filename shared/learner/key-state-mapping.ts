import type { KeyStateRecord, StepColumns } from '../codec/key-state-codec.js';
import { horizonOf, isClassificationTask, type ModelSpec } from '../model/model-spec.js';
import type { KeySequenceSnapshot } from '../tbptt/key-sequence.js';
import type { StepRecord } from '../tbptt/step-record.js';

/** How a model's steps are stored (the ring buffer's kinds): fixes which columns a record has. */
export interface StepLayout {
  readonly inputKind: 'tokens' | 'features';
  readonly targetKind: 'class' | 'regression';
  readonly featureSize: number;
  /** Regression targets per step: this many vectors of featureSize (forecast horizon H). */
  readonly horizon: number;
  /** Segments of a bidirectional model: each step keeps its event's index and line. */
  readonly eventIds: boolean;
}

/** The layout of a model's steps (the same for every key of the model). */
export function stepLayoutOf(spec: ModelSpec): StepLayout {
  return {
    inputKind: spec.inputKind,
    targetKind: isClassificationTask(spec.task) ? 'class' : 'regression',
    featureSize: spec.featureSize,
    horizon: horizonOf(spec),
    eventIds: spec.bidirectional === true,
  };
}

/**
 * The changelog record of a key's snapshot. `inputOffset` is the events-topic offset the state
 * reflects (the last event of this key that was processed); `tsMs` when the record is written.
 */
export function keyStateRecordOf({
  snapshot,
  layout,
  inputOffset,
  tsMs,
}: {
  snapshot: KeySequenceSnapshot;
  layout: StepLayout;
  inputOffset: number;
  tsMs: number;
}): KeyStateRecord {
  return {
    key: snapshot.key,
    state: snapshot.state,
    snapshots: snapshot.windowStarts.map(({ position, state }) => ({ position, state })),
    steps: stepColumnsOf(snapshot.steps, layout),
    position: snapshot.position,
    pending: snapshot.pending,
    closing: snapshot.closing,
    previousToken: snapshot.previousToken,
    previousFeatures: snapshot.previousFeatures,
    paramVersion: snapshot.paramVersion,
    inputOffset,
    tsMs,
    lastSeenMs: snapshot.lastSeenMs,
    forecast: snapshot.forecast,
  };
}

/** The snapshot a changelog record describes (what KeySequence.restore takes). */
export function snapshotOfKeyState(record: KeyStateRecord): KeySequenceSnapshot {
  return {
    key: record.key,
    position: record.position,
    pending: record.pending,
    state: record.state,
    paramVersion: record.paramVersion,
    closing: record.closing,
    previousToken: record.previousToken,
    previousFeatures: record.previousFeatures,
    lastSeenMs: record.lastSeenMs,
    windowStarts: record.snapshots.map(({ position, state }) => ({ position, state })),
    steps: stepRecordsOf(record.steps),
    forecast: record.forecast,
  };
}

/** Steps (oldest first) as columns. A step without a target stores 0 there (its hasLoss is 0). */
export function stepColumnsOf(steps: readonly StepRecord[], layout: StepLayout): StepColumns {
  const { inputKind, targetKind, featureSize: f, horizon, eventIds } = layout;
  const count = steps.length;
  const hasLoss = Uint8Array.from(steps, (s) => (s.hasLoss ? 1 : 0));
  const columns: { -readonly [K in keyof StepColumns]: StepColumns[K] } = {
    inputKind,
    targetKind,
    featureSize: f,
    count,
    hasLoss,
  };
  if (eventIds) {
    columns.eventIndexes = Float64Array.from(steps, (s) => s.eventIndex ?? 0);
    columns.eventLines = Float64Array.from(steps, (s) => s.eventLine ?? 0);
  }
  if (inputKind === 'tokens')
    columns.inputTokens = Int32Array.from(steps, (s) => s.inputToken ?? 0);
  else columns.inputFeatures = rows(steps, f, (s) => s.inputFeatures);
  if (targetKind === 'class')
    columns.classTargets = Int32Array.from(steps, (s) => s.classTarget ?? 0);
  else {
    const w = horizon * f;
    columns.horizon = horizon;
    columns.regressionTargets = rows(steps, w, (s) => s.regressionTarget);
    columns.targetMask = Uint8Array.from(
      rows(steps, w, (s) =>
        s.targetMask
          ? Float32Array.from(s.targetMask)
          : new Float32Array(w).fill(s.hasLoss ? 1 : 0),
      ),
    );
  }
  return columns;
}

/**
 * Columns back to steps, oldest first. Regression targets of a record written before horizons
 * (horizon 0) are one vector per step, all counting where the step has a loss.
 */
export function stepRecordsOf(columns: StepColumns): StepRecord[] {
  const f = columns.featureSize;
  const w = Math.max(1, columns.horizon ?? 0) * f;
  const out: StepRecord[] = [];
  for (let i = 0; i < columns.count; i++) {
    out.push({
      inputToken: columns.inputTokens?.[i],
      inputFeatures: columns.inputFeatures?.slice(i * f, i * f + f),
      classTarget: columns.classTargets?.[i],
      regressionTarget: columns.regressionTargets?.slice(i * w, i * w + w),
      targetMask: columns.targetMask?.slice(i * w, i * w + w),
      hasLoss: columns.hasLoss[i] === 1,
      ...(columns.eventIndexes && columns.eventLines
        ? { eventIndex: columns.eventIndexes[i]!, eventLine: columns.eventLines[i]! }
        : {}),
    });
  }
  return out;
}

function rows(
  steps: readonly StepRecord[],
  width: number,
  pick: (s: StepRecord) => Float32Array | undefined,
): Float32Array {
  const out = new Float32Array(steps.length * width);
  steps.forEach((s, i) => {
    const v = pick(s);
    if (v) out.set(v, i * width);
  });
  return out;
}
