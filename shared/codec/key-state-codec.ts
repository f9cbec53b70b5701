import { abbreviate } from '../errors/abbreviate.js';
import { CodecError } from './codec-error.js';
import { rnnstream } from './generated/rnnstream.js';
import { checkInt64, int64ToNumber } from './int64.js';
import { decodeTensor, encodeTensor } from './tensor-codec.js';
import type { ForecastMemorySnapshot } from '../tbptt/forecast-memory.js';

const { InputKind, TargetKind } = rnnstream.v1.StepBuffer;

/**
 * The ring buffer of a key's last steps (shared/tbptt/step-ring-buffer.ts), oldest first, as
 * columns of `count` rows. Exactly the arrays of the two kinds are present:
 * inputKind 'tokens' → inputTokens (count); 'features' → inputFeatures (count · featureSize);
 * targetKind 'class' → classTargets (count); 'regression' → regressionTargets and targetMask
 * (count · horizon · featureSize; horizon 0, a record written before forecast horizons: count ·
 * featureSize targets and no mask).
 */
export interface StepColumns {
  readonly inputKind: 'tokens' | 'features';
  readonly targetKind: 'class' | 'regression';
  readonly featureSize: number;
  readonly count: number;
  readonly inputTokens?: Int32Array | undefined;
  readonly inputFeatures?: Float32Array | undefined;
  readonly classTargets?: Int32Array | undefined;
  readonly regressionTargets?: Float32Array | undefined;
  /** Regression targets: vectors per step (forecast horizon); 0 in records older than horizons. */
  readonly horizon?: number | undefined;
  /** With horizon ≥ 1: 1 where a target value has arrived. */
  readonly targetMask?: Uint8Array | undefined;
  /** count entries: 1 where the step has a loss, else 0. */
  readonly hasLoss: Uint8Array;
  /**
   * Segments of a bidirectional model (both or neither, count entries each): every buffered
   * step's event index (a worker: its offset) and source line (0: none), for its prediction at eos.
   */
  readonly eventIndexes?: Float64Array | undefined;
  readonly eventLines?: Float64Array | undefined;
}

/** A stored window-start state. */
export interface StateSnapshotRecord {
  readonly position: number;
  readonly state: Float32Array;
}

/**
 * Everything the KeyState message carries about one key (what shared/tbptt/key-sequence.ts holds,
 * as plain data): enough to resume its truncated BPTT exactly after a restore from the changelog.
 */
export interface KeyStateRecord {
  readonly key: string;
  /** The carried ("pre-update") state after the last step. */
  readonly state: Float32Array;
  /** Window-start states, ascending by position. */
  readonly snapshots: readonly StateSnapshotRecord[];
  readonly steps: StepColumns;
  /** Steps since the sequence started (or since the last eos reset). */
  readonly position: number;
  /** Steps not yet covered by a training step. */
  readonly pending: number;
  /** eos was seen: train what is pending, then reset. */
  readonly closing: boolean;
  /** Previous event's token (lm input). */
  readonly previousToken: number;
  /** Previous event's standardised features (forecast input), when there is one. */
  readonly previousFeatures?: Float32Array | undefined;
  /** Parameter version in force when `state` was computed. */
  readonly paramVersion: number;
  /** Offset in the events topic that this state reflects. */
  readonly inputOffset: number;
  /** When this state was written, ms since the epoch. */
  readonly tsMs: number;
  /** When the key last saw an event, ms since the epoch. */
  readonly lastSeenMs: number;
  /** Forecast keys: the residual head's bases (absent for other tasks and in older records). */
  readonly forecast?: ForecastMemorySnapshot | undefined;
}

/** KeyState protobuf bytes for a key's state (float32 tensors: lossless). Throws on inconsistent columns. */
export function encodeKeyState(record: KeyStateRecord): Uint8Array {
  const { steps } = record;
  checkColumns(steps, (message) => new RangeError(`key '${record.key}': ${message}`));
  const message: rnnstream.v1.KeyState.$Properties = {
    key: record.key,
    state: encodeTensor('state', record.state),
    snapshots: record.snapshots.map((s) => ({
      position: checkInt64(s.position, 'snapshot position', { unsigned: true }),
      state: encodeTensor('snapshot', s.state),
    })),
    steps: {
      inputKind: steps.inputKind === 'tokens' ? InputKind.TOKENS : InputKind.FEATURES,
      targetKind: steps.targetKind === 'class' ? TargetKind.CLASS : TargetKind.REGRESSION,
      featureSize: steps.featureSize,
      count: steps.count,
      inputTokens: steps.inputTokens ? Array.from(steps.inputTokens) : [],
      inputFeatures: steps.inputFeatures ? Array.from(steps.inputFeatures) : [],
      classTargets: steps.classTargets ? Array.from(steps.classTargets) : [],
      regressionTargets: steps.regressionTargets ? Array.from(steps.regressionTargets) : [],
      hasLoss: steps.hasLoss,
      horizon: steps.horizon ?? 0,
      targetMask: steps.targetMask ?? new Uint8Array(0),
      eventIndexes: steps.eventIndexes ? Array.from(steps.eventIndexes) : [],
      eventLines: steps.eventLines ? Array.from(steps.eventLines) : [],
    },
    position: checkInt64(record.position, 'position', { unsigned: true }),
    pending: checkInt64(record.pending, 'pending', { unsigned: true }),
    closing: record.closing,
    previousToken: checkInt64(record.previousToken, 'previousToken'),
    paramVersion: checkInt64(record.paramVersion, 'paramVersion', { unsigned: true }),
    inputOffset: checkInt64(record.inputOffset, 'inputOffset'),
    tsMs: checkInt64(record.tsMs, 'tsMs'),
    lastSeenMs: checkInt64(record.lastSeenMs, 'lastSeenMs'),
  };
  if (record.previousFeatures)
    message.previousFeatures = { values: Array.from(record.previousFeatures) };
  if (record.forecast)
    message.forecast = {
      lastTarget: Array.from(record.forecast.lastTarget),
      bases: Array.from(record.forecast.bases),
    };
  return rnnstream.v1.KeyState.encode(message).finish();
}

/** The KeyStateRecord of KeyState bytes; throws CodecError for corrupt or inconsistent bytes. */
export function decodeKeyState(bytes: Uint8Array): KeyStateRecord {
  let m: rnnstream.v1.KeyState;
  try {
    m = rnnstream.v1.KeyState.decode(bytes);
  } catch (error) {
    throw new CodecError(
      `not a valid KeyState message (${bytes.length} bytes): ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    const s: rnnstream.v1.StepBuffer.$Properties = m.steps ?? {};
    const rawInputKind = s.inputKind ?? InputKind.TOKENS;
    const rawTargetKind = s.targetKind ?? TargetKind.CLASS;
    if (rawInputKind !== InputKind.TOKENS && rawInputKind !== InputKind.FEATURES)
      throw new Error(`unknown input kind ${rawInputKind}`);
    if (rawTargetKind !== TargetKind.CLASS && rawTargetKind !== TargetKind.REGRESSION)
      throw new Error(`unknown target kind ${rawTargetKind}`);
    const inputKind = rawInputKind === InputKind.FEATURES ? 'features' : 'tokens';
    const targetKind = rawTargetKind === TargetKind.REGRESSION ? 'regression' : 'class';
    const steps: StepColumns = {
      inputKind,
      targetKind,
      featureSize: s.featureSize ?? 0,
      count: s.count ?? 0,
      ...(inputKind === 'tokens'
        ? { inputTokens: Int32Array.from(s.inputTokens ?? []) }
        : { inputFeatures: Float32Array.from(s.inputFeatures ?? []) }),
      ...(targetKind === 'class'
        ? { classTargets: Int32Array.from(s.classTargets ?? []) }
        : {
            regressionTargets: Float32Array.from(s.regressionTargets ?? []),
            horizon: s.horizon ?? 0,
            ...(s.horizon ? { targetMask: Uint8Array.from(s.targetMask ?? []) } : {}),
          }),
      hasLoss: Uint8Array.from(s.hasLoss ?? []),
      ...(s.eventIndexes?.length || s.eventLines?.length
        ? {
            eventIndexes: Float64Array.from(s.eventIndexes ?? []),
            eventLines: Float64Array.from(s.eventLines ?? []),
          }
        : {}),
    };
    checkColumns(steps, (message) => new Error(message));
    const record: KeyStateRecord = {
      key: m.key,
      state: m.state ? decodeTensor(m.state).data : new Float32Array(0),
      snapshots: m.snapshots.map((snapshot) => ({
        position: int64ToNumber(snapshot.position, 'snapshot position'),
        state: snapshot.state ? decodeTensor(snapshot.state).data : new Float32Array(0),
      })),
      steps,
      position: int64ToNumber(m.position, 'position'),
      pending: int64ToNumber(m.pending, 'pending'),
      closing: m.closing,
      previousToken: int64ToNumber(m.previousToken, 'previous_token'),
      paramVersion: int64ToNumber(m.paramVersion, 'param_version'),
      inputOffset: int64ToNumber(m.inputOffset, 'input_offset'),
      tsMs: int64ToNumber(m.tsMs, 'ts_ms'),
      lastSeenMs: int64ToNumber(m.lastSeenMs, 'last_seen_ms'),
    };
    // Window-start states are states of this key: a restored one of another length would fail
    // a training step long after the restore, far from the record that caused it.
    for (const snapshot of record.snapshots) {
      if (snapshot.state.length !== record.state.length)
        throw new Error(
          `the snapshot at position ${snapshot.position} has ${snapshot.state.length} state values, the key's state ${record.state.length}`,
        );
    }
    const forecast = m.forecast
      ? {
          lastTarget: Float64Array.from(m.forecast.lastTarget ?? []),
          bases: Float64Array.from(m.forecast.bases ?? []),
        }
      : undefined;
    return {
      ...record,
      ...(m.previousFeatures
        ? { previousFeatures: Float32Array.from(m.previousFeatures.values ?? []) }
        : {}),
      ...(forecast ? { forecast } : {}),
    };
  } catch (error) {
    throw new CodecError(
      `KeyState of key '${abbreviate(m.key)}' is inconsistent: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function checkColumns(steps: StepColumns, error: (message: string) => Error): void {
  const { count, featureSize } = steps;
  if (!Number.isInteger(count) || count < 0)
    throw error(`steps.count is ${count}, not a non-negative integer`);
  if (!Number.isInteger(featureSize) || featureSize < 0)
    throw error(`steps.featureSize is ${featureSize}, not a non-negative integer`);
  const expect = (name: string, array: ArrayLike<number> | undefined, length: number) => {
    if (!array)
      throw error(
        `steps.${name} is missing (needed for ${steps.inputKind} inputs and ${steps.targetKind} targets)`,
      );
    if (array.length !== length)
      throw error(
        `steps.${name} has ${array.length} entries, expected ${length} (count ${count}, featureSize ${featureSize})`,
      );
  };
  if (steps.inputKind === 'tokens') expect('inputTokens', steps.inputTokens, count);
  else expect('inputFeatures', steps.inputFeatures, count * featureSize);
  if (steps.targetKind === 'class') expect('classTargets', steps.classTargets, count);
  else {
    const horizon = steps.horizon ?? 0;
    if (!Number.isInteger(horizon) || horizon < 0)
      throw error(`steps.horizon is ${horizon}, not an integer >= 0`);
    const width = Math.max(1, horizon) * featureSize;
    expect('regressionTargets', steps.regressionTargets, count * width);
    if (horizon > 0) expect('targetMask', steps.targetMask, count * width);
  }
  expect('hasLoss', steps.hasLoss, count);
  if (steps.eventIndexes || steps.eventLines) {
    expect('eventIndexes', steps.eventIndexes, count);
    expect('eventLines', steps.eventLines, count);
    for (const [name, values] of [
      ['eventIndexes', steps.eventIndexes!],
      ['eventLines', steps.eventLines!],
    ] as const)
      for (const value of values)
        if (!(Number.isSafeInteger(value) && value >= 0))
          throw error(`steps.${name} holds ${value}, not an integer >= 0`);
  }
}

/**
 * Largest KeyState record a worker writes: below the broker's default `max.message.bytes`
 * (1 MiB), with room for the record's key and framing. A state changelog record is one Kafka
 * record (compaction keeps the latest per key, so it is not chunked).
 */
export const MAX_KEY_STATE_RECORD_BYTES = 1_000_000;

/**
 * An upper bound on the encoded size of a key's KeyState record, from what the key can hold:
 * every varint at its widest (5 bytes for a token or class id, 10 for a 64-bit counter), every
 * float 4 bytes, and each message's tag and length prefix.
 */
export function keyStateBytesBound({
  keyBytes,
  stateFloats,
  windowStarts,
  steps,
  inputKind,
  targetKind,
  featureSize,
  eventIds = false,
}: {
  keyBytes: number;
  stateFloats: number;
  windowStarts: number;
  steps: number;
  inputKind: 'tokens' | 'features';
  targetKind: 'class' | 'regression';
  featureSize: number;
  /** Segments: two doubles of event index and line per step. */
  eventIds?: boolean;
}): number {
  const prefix = 6; // a field's tag and a length of up to 5 bytes
  const tensor = prefix + 3 * prefix + 'snapshot'.length + 2 + 4 * stateFloats; // name, shape, dtype, data
  const snapshot = prefix + 11 + tensor;
  const perStep =
    (inputKind === 'tokens' ? 5 : 4 * featureSize) +
    (targetKind === 'class' ? 5 : 4 * featureSize) +
    1 +
    (eventIds ? 16 : 0);
  const stepBuffer = prefix + 4 * 11 + 7 * prefix + steps * perStep;
  const scalars = 9 * 11;
  const previousFeatures = 2 * prefix + 4 * featureSize;
  return (
    prefix + keyBytes + tensor + windowStarts * snapshot + stepBuffer + scalars + previousFeatures
  );
}
