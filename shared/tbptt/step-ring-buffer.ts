import type { StepRecord } from './step-record.js';

/**
 * The last `capacity` steps of one key in preallocated typed arrays (no per-step objects), so a
 * worker can hold 100k keys: k2 × (4 + 4 + 1) bytes for token keys.
 */
export class StepRingBuffer {
  readonly capacity: number;
  private readonly featureSize: number;
  private readonly inputTokens: Int32Array | undefined;
  private readonly inputFeatures: Float32Array | undefined;
  private readonly classTargets: Int32Array | undefined;
  private readonly regressionTargets: Float32Array | undefined;
  private readonly lossFlags: Uint8Array;
  /** Total steps ever pushed since the last clear; the newest is at (count - 1) % capacity. */
  private count = 0;

  constructor({
    capacity,
    inputKind,
    targetKind,
    featureSize,
  }: {
    capacity: number;
    inputKind: 'tokens' | 'features';
    targetKind: 'class' | 'regression';
    featureSize: number;
  }) {
    this.capacity = capacity;
    this.featureSize = featureSize;
    if (inputKind === 'tokens') this.inputTokens = new Int32Array(capacity);
    else this.inputFeatures = new Float32Array(capacity * featureSize);
    if (targetKind === 'class') this.classTargets = new Int32Array(capacity);
    else this.regressionTargets = new Float32Array(capacity * featureSize);
    this.lossFlags = new Uint8Array(capacity);
  }

  /** Bytes of the arrays of a buffer of this layout (what byteLength() of such a buffer is). */
  static bytesFor({
    capacity,
    inputKind,
    targetKind,
    featureSize,
  }: {
    capacity: number;
    inputKind: 'tokens' | 'features';
    targetKind: 'class' | 'regression';
    featureSize: number;
  }): number {
    const input = inputKind === 'tokens' ? 4 : 4 * featureSize;
    const target = targetKind === 'class' ? 4 : 4 * featureSize;
    return capacity * (input + target + 1);
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
    if (this.regressionTargets)
      this.regressionTargets.set(step.regressionTarget ?? new Float32Array(f), slot * f);
    this.lossFlags[slot] = step.hasLoss ? 1 : 0;
    this.count++;
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
    if (back < 0 || back >= this.size)
      throw new RangeError(
        `step ${back} back is not in the buffer (holds ${this.size} of capacity ${this.capacity})`,
      );
    const slot = (this.count - 1 - back) % this.capacity;
    const f = this.featureSize;
    if (into.tokens && this.inputTokens) into.tokens[at] = this.inputTokens[slot]!;
    if (into.features && this.inputFeatures)
      into.features.set(this.inputFeatures.subarray(slot * f, slot * f + f), at * f);
    if (into.classTargets && this.classTargets) into.classTargets[at] = this.classTargets[slot]!;
    if (into.regressionTargets && this.regressionTargets)
      into.regressionTargets.set(this.regressionTargets.subarray(slot * f, slot * f + f), at * f);
    return this.lossFlags[slot] === 1;
  }

  /** The held steps, oldest first (for the state changelog). */
  exportSteps(): StepRecord[] {
    const out: StepRecord[] = [];
    const f = this.featureSize;
    for (let back = this.size - 1; back >= 0; back--) {
      const slot = (this.count - 1 - back) % this.capacity;
      out.push({
        inputToken: this.inputTokens?.[slot],
        inputFeatures: this.inputFeatures?.slice(slot * f, slot * f + f),
        classTarget: this.classTargets?.[slot],
        regressionTarget: this.regressionTargets?.slice(slot * f, slot * f + f),
        hasLoss: this.lossFlags[slot] === 1,
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
      this.lossFlags,
    ].reduce((s, a) => s + (a?.byteLength ?? 0), 0);
  }
}
