import { ShapeError } from '../errors/index.js';
import { ForecastMemory, type ForecastMemorySnapshot } from './forecast-memory.js';
import type { StepRecord } from './step-record.js';
import { StepRingBuffer } from './step-ring-buffer.js';
import type { WindowSchedule } from './window-schedule.js';

/** A key's complete TBPTT state as plain data: what the state changelog stores. */
export interface KeySequenceSnapshot {
  readonly key: string;
  readonly position: number;
  readonly pending: number;
  readonly state: Float32Array;
  readonly paramVersion: number;
  readonly closing: boolean;
  readonly previousToken: number;
  readonly previousFeatures: Float32Array | undefined;
  readonly lastSeenMs: number;
  readonly windowStarts: ReadonlyArray<{ readonly position: number; readonly state: Float32Array }>;
  /** The ring buffer's steps, oldest first. */
  readonly steps: readonly StepRecord[];
  /** Forecast keys: the residual head's bases. */
  readonly forecast?: ForecastMemorySnapshot | undefined;
}

/**
 * Everything the learner keeps for one sequence key (docs/design.md §3): the carried state, the
 * steps a window can reach, and only the states at the starts of windows that coming training
 * steps will need. The schedule (./window-schedule.ts) says which: for truncated BPTT the last
 * max(k1, k2) steps and the states at positions p ≡ -k2 (mod k1), at most ceil(k2/k1) + 1 of
 * them; for whole sequences (classify) the last maxSequenceSteps steps and a state every
 * ceil(maxSequenceSteps / 8) steps.
 */
export class KeySequence {
  readonly key: string;
  /** Steps since the sequence started (or since the last eos reset). */
  position = 0;
  /** Steps not yet covered by a training step. */
  pending = 0;
  /** The carried ("pre-update") state after the last step. */
  state: Float32Array;
  /** Parameter version in force when `state` was computed. */
  paramVersion = 0;
  /** The sequence ended (eos): train what is pending, then reset. */
  closing = false;
  /** Previous event's token (lm input) or standardised features (forecast input). */
  previousToken: number;
  previousFeatures: Float32Array | undefined;
  lastSeenMs = 0;
  readonly buffer: StepRingBuffer;
  /** Forecast keys: the last observed values the residual head's targets are measured from. */
  readonly forecast: ForecastMemory | undefined;
  private readonly snapshots = new Map<number, Float32Array>();
  /**
   * `state` is held elsewhere too — as a stored window start, by a snapshot this key handed out, or
   * by the snapshot it was restored from — so the next step must not overwrite it in place.
   */
  private stateShared = false;
  readonly schedule: WindowSchedule;
  private readonly initialToken: number;

  constructor({
    key,
    stateSize,
    schedule,
    buffer,
    initialToken,
    forecastHorizon,
  }: {
    key: string;
    stateSize: number;
    schedule: WindowSchedule;
    buffer: StepRingBuffer;
    initialToken: number;
    /** Set for a forecast model: keep a ForecastMemory for this many horizon steps. */
    forecastHorizon?: number | undefined;
  }) {
    if (buffer.capacity < schedule.bufferSteps)
      throw new RangeError(
        `key '${key}': a step buffer of ${buffer.capacity} steps cannot hold the ${schedule.bufferSteps} steps its windows reach`,
      );
    this.key = key;
    this.state = new Float32Array(stateSize);
    this.schedule = schedule;
    this.buffer = buffer;
    this.initialToken = initialToken;
    this.previousToken = initialToken;
    this.forecast =
      forecastHorizon === undefined
        ? undefined
        : new ForecastMemory({ horizon: forecastHorizon, featureSize: buffer.featureSize });
  }

  /** Ready for a training step (truncated: k1 new steps; whole sequence: only at eos). */
  get ready(): boolean {
    return this.schedule.isReady(this.pending, this.closing);
  }

  /**
   * Records a processed step and the state computed for it (copied: `state` may be a view into
   * a batch's output). The key's state array is overwritten in place unless it is shared (a
   * window start, or handed out by toSnapshot), so most steps allocate nothing.
   */
  advance(step: StepRecord, state: Float32Array, paramVersion: number): void {
    this.buffer.push(step);
    this.position++;
    this.pending++;
    if (this.stateShared || this.state.length !== state.length) {
      this.state = state.slice();
      this.stateShared = false;
    } else this.state.set(state);
    this.paramVersion = paramVersion;
    // Keep the state here if some future window starts here; forget those no window reaches now
    // (whole sequences train only at eos, so advance is where their states age out).
    if (this.schedule.keepsStateAt(this.position)) {
      this.snapshots.set(this.position, this.state);
      this.stateShared = true;
    }
    this.forgetStartsBefore(this.schedule.earliestStart(this.position));
  }

  /**
   * The window the next training step covers: it ends at the newest step, includes the pending
   * steps whose loss counts, and starts at the earliest stored window start the schedule lets it
   * reach (position 0, the zero state, for young sequences). Pending steps before it (a whole
   * sequence longer than its cap) carry no loss and are not trained.
   */
  window(): { length: number; lossSteps: number; startState: Float32Array | undefined } {
    const earliest = this.schedule.earliestStart(this.position);
    let start = this.schedule.latestStart(this.position, this.pending);
    let startState: Float32Array | undefined;
    if (earliest === 0) start = 0;
    else {
      for (const [p, s] of this.snapshots) {
        if (p >= earliest && p <= start) {
          start = p;
          startState = s;
          break; // insertion order = ascending positions, so the first match is the earliest
        }
      }
      if (!startState)
        throw new Error(
          `internal: key '${this.key}' has no stored state for a window start in [${earliest}, ${start}] at position ${this.position}`,
        );
    }
    const length = this.position - start;
    return { length, lossSteps: Math.min(this.pending, length), startState };
  }

  /** After a training step: nothing pending; forget window starts no future window can use. */
  markTrained(): void {
    this.pending = 0;
    this.forgetStartsBefore(this.schedule.earliestStart(this.position + 1));
    if (this.closing) this.reset();
  }

  private forgetStartsBefore(oldestUseful: number): void {
    for (const p of this.snapshots.keys()) {
      if (p >= oldestUseful) break; // ascending positions
      this.snapshots.delete(p);
    }
  }

  /** Back to the start of a new sequence (after eos). */
  reset(): void {
    this.position = 0;
    this.pending = 0;
    this.closing = false;
    this.state = new Float32Array(this.state.length);
    this.stateShared = false;
    this.previousToken = this.initialToken;
    this.previousFeatures = undefined;
    this.forecast?.reset();
    this.snapshots.clear();
    this.buffer.clear();
  }

  /** Everything needed to resume this key exactly (the state changelog record). */
  toSnapshot(): KeySequenceSnapshot {
    this.stateShared = true; // the snapshot holds `state`: later steps must not change it
    return {
      key: this.key,
      position: this.position,
      pending: this.pending,
      state: this.state,
      paramVersion: this.paramVersion,
      closing: this.closing,
      previousToken: this.previousToken,
      previousFeatures: this.previousFeatures,
      lastSeenMs: this.lastSeenMs,
      windowStarts: [...this.snapshots].map(([position, state]) => ({ position, state })),
      steps: this.buffer.exportSteps(),
      forecast: this.forecast?.toSnapshot(),
    };
  }

  /** Puts a key back exactly as `toSnapshot` described it (restore from the changelog). */
  restore(snapshot: KeySequenceSnapshot): void {
    if (snapshot.state.length !== this.state.length) {
      throw new ShapeError(
        `stored state of key '${snapshot.key}' has ${snapshot.state.length} values but the model's state has ${this.state.length}; the changelog was written by another model configuration`,
      );
    }
    this.reset();
    for (const step of snapshot.steps) this.buffer.push(step);
    this.position = snapshot.position;
    this.pending = snapshot.pending;
    this.state = snapshot.state;
    this.stateShared = true; // the caller's array: copy on the next step
    this.paramVersion = snapshot.paramVersion;
    this.closing = snapshot.closing;
    this.previousToken = snapshot.previousToken;
    this.previousFeatures = snapshot.previousFeatures;
    this.lastSeenMs = snapshot.lastSeenMs;
    if (this.forecast && snapshot.forecast) this.forecast.restore(snapshot.forecast);
    for (const { position, state } of [...snapshot.windowStarts].sort(
      (a, b) => a.position - b.position,
    ))
      this.snapshots.set(position, state);
  }

  snapshotCount(): number {
    return this.snapshots.size;
  }

  /** Approximate bytes held for this key (arrays only). */
  byteLength(): number {
    let bytes =
      this.state.byteLength + this.buffer.byteLength() + (this.forecast?.byteLength() ?? 0);
    for (const s of this.snapshots.values()) if (s !== this.state) bytes += s.byteLength;
    return bytes;
  }
}
