import type { StepRecord } from './step-record.js';

/**
 * The last `capacity` steps of one key in preallocated typed arrays (no per-step objects), so a
 * worker can hold 100k keys: k2 × (4 + 4 + 1) bytes for token keys. Regression targets are
 * `horizon` vectors per step with a mask of the values that have arrived: a forecast's target h
 * steps ahead is written into its step's slot when it arrives (setTarget).
 */
export class StepRingBuffer {
  readonly capacity: number;
  readonly featureSize: number;
  /** Regression target values per step: horizon × featureSize. */
  private readonly targetWidth: number;
  private readonly targetMask: Uint8Array | undefined;
  private readonly inputTokens: Int32Array | undefined;
  private readonly inputFeatures: Float32Array | undefined;
  private readonly classTargets: Int32Array | undefined;
  private readonly regressionTargets: Float32Array | undefined;
  private readonly lossFlags: Uint8Array;
  /** Segments (`eventIds`): each step's event index and source line (0: none). */
  private readonly eventIndexes: Float64Array | undefined;
  private readonly eventLines: Float64Array | undefined;
  /** Total steps ever pushed since the last clear; the newest is at (count - 1) % capacity. */
  private count = 0;

  constructor({
    capacity,
    inputKind,
    targetKind,
    featureSize,
    horizon = 1,
    eventIds = false,
  }: {
    capacity: number;
    inputKind: 'tokens' | 'features';
    targetKind: 'class' | 'regression';
    featureSize: number;
    horizon?: number;
    /** Keep each step's event index and line (a bidirectional model predicts them at eos). */
    eventIds?: boolean;
  }) {
    this.capacity = capacity;
    this.featureSize = featureSize;
    this.targetWidth = horizon * featureSize;
    if (inputKind === 'tokens') this.inputTokens = new Int32Array(capacity);
    else this.inputFeatures = new Float32Array(capacity * featureSize);
    if (targetKind === 'class') this.classTargets = new Int32Array(capacity);
    else {
      this.regressionTargets = new Float32Array(capacity * this.targetWidth);
      this.targetMask = new Uint8Array(capacity * this.targetWidth);
    }
    this.lossFlags = new Uint8Array(capacity);
    if (eventIds) {
      this.eventIndexes = new Float64Array(capacity);
      this.eventLines = new Float64Array(capacity);
    }
  }

  /** Bytes of the arrays of a buffer of this layout (what byteLength() of such a buffer is). */
  static bytesFor({
    capacity,
    inputKind,
    targetKind,
    featureSize,
    eventIds = false,
  }: {
    capacity: number;
    inputKind: 'tokens' | 'features';
    targetKind: 'class' | 'regression';
    featureSize: number;
    eventIds?: boolean;
  }): number {
    const input = inputKind === 'tokens' ? 4 : 4 * featureSize;
    const target = targetKind === 'class' ? 4 : 4 * featureSize;
    return capacity * (input + target + 1 + (eventIds ? 16 : 0));
  }

  get size(): number {
    return Math.min(this.count, this.capacity);
  }

  push(step: StepRecord): void {
    const slot = this.count % this.capacity;
    const f = this.featureSize;
    if (this.inputTokens) this.inputTokens[slot] = step.inputToken ?? 0;
    if (this.inputFeatures)
      this.inputFeatures.set(step.inputFeatures ?? new Float32Array(f), slot * f);
    if (this.classTargets) this.classTargets[slot] = step.classTarget ?? 0;
    if (this.regressionTargets && this.targetMask) {
      const w = this.targetWidth;
      this.regressionTargets.set(step.regressionTarget ?? new Float32Array(w), slot * w);
      if (step.targetMask) this.targetMask.set(step.targetMask, slot * w);
      else this.targetMask.fill(step.hasLoss ? 1 : 0, slot * w, slot * w + w);
    }
    this.lossFlags[slot] = step.hasLoss ? 1 : 0;
    if (this.eventIndexes && this.eventLines) {
      this.eventIndexes[slot] = step.eventIndex ?? 0;
      this.eventLines[slot] = step.eventLine ?? 0;
    }
    this.count++;
  }

  /**
   * A regression target value that arrived after its step was pushed: horizon step h (1-based),
   * feature f of the step `back` steps before the newest. Marks it arrived.
   */
  setTarget(back: number, h: number, f: number, value: number): void {
    if (!this.regressionTargets || !this.targetMask)
      throw new Error('internal: setTarget on a buffer of class targets');
    const i = this.slotOf(back) * this.targetWidth + (h - 1) * this.featureSize + f;
    this.regressionTargets[i] = value;
    this.targetMask[i] = 1;
  }

  /** [H·F] the arrived-mask of the step `back` steps before the newest (a view: do not keep). */
  targetMaskOf(back: number): Uint8Array {
    if (!this.targetMask) throw new Error('internal: targetMaskOf on a buffer of class targets');
    const w = this.targetWidth;
    const slot = this.slotOf(back);
    return this.targetMask.subarray(slot * w, slot * w + w);
  }

  clear(): void {
    this.count = 0;
  }

  /**
   * Copies the step `back` steps before the newest (back = 0 is the newest) into row position
   * `at` of batch arrays. Throws if that step has been overwritten.
   */
  copyStepInto(
    back: number,
    at: number,
    into: {
      tokens?: Int32Array | undefined;
      features?: Float32Array | undefined;
      classTargets?: Int32Array | undefined;
      regressionTargets?: Float32Array | undefined;
    },
  ): boolean {
    const slot = this.slotOf(back);
    const f = this.featureSize;
    const w = this.targetWidth;
    if (into.tokens && this.inputTokens) into.tokens[at] = this.inputTokens[slot]!;
    if (into.features && this.inputFeatures)
      into.features.set(this.inputFeatures.subarray(slot * f, slot * f + f), at * f);
    if (into.classTargets && this.classTargets) into.classTargets[at] = this.classTargets[slot]!;
    if (into.regressionTargets && this.regressionTargets)
      into.regressionTargets.set(this.regressionTargets.subarray(slot * w, slot * w + w), at * w);
    return this.lossFlags[slot] === 1;
  }

  private slotOf(back: number): number {
    if (!(Number.isInteger(back) && back >= 0 && back < this.size))
      throw new RangeError(
        `step ${back} back is not in the buffer (holds ${this.size} of capacity ${this.capacity})`,
      );
    return (this.count - 1 - back) % this.capacity;
  }

  /** The held steps, oldest first (for the state changelog). */
  exportSteps(): StepRecord[] {
    const out: StepRecord[] = [];
    const f = this.featureSize;
    const w = this.targetWidth;
    for (let back = this.size - 1; back >= 0; back--) {
      const slot = (this.count - 1 - back) % this.capacity;
      out.push({
        inputToken: this.inputTokens?.[slot],
        inputFeatures: this.inputFeatures?.slice(slot * f, slot * f + f),
        classTarget: this.classTargets?.[slot],
        regressionTarget: this.regressionTargets?.slice(slot * w, slot * w + w),
        targetMask: this.targetMask?.slice(slot * w, slot * w + w),
        hasLoss: this.lossFlags[slot] === 1,
        ...(this.eventIndexes && this.eventLines
          ? { eventIndex: this.eventIndexes[slot]!, eventLine: this.eventLines[slot]! }
          : {}),
      });
    }
    return out;
  }

  /** Bytes held by this buffer's arrays (for memory reports). */
  byteLength(): number {
    return [
      this.inputTokens,
      this.inputFeatures,
      this.classTargets,
      this.regressionTargets,
      this.targetMask,
      this.lossFlags,
      this.eventIndexes,
      this.eventLines,
    ].reduce((s, a) => s + (a?.byteLength ?? 0), 0);
  }
}
