/**
 * A series sampled at every `step` of its x (events, seconds) that keeps at most `capacity`
 * points however long the stream runs: when it would hold more, it keeps every other point and
 * doubles the step, so the points stay evenly spread over the whole run (memory O(capacity),
 * and O(capacity · log(run length)) samples taken in total).
 */
export class DecimatingSeries<T> {
  private readonly capacity: number;
  private step: number;
  private nextX: number;
  private readonly kept: Array<{ x: number; point: T }> = [];

  constructor({ capacity, initialStep }: { capacity: number; initialStep: number }) {
    if (!(Number.isSafeInteger(capacity) && capacity >= 2))
      throw new RangeError(`capacity = ${capacity}: must be an integer >= 2`);
    if (!(initialStep > 0 && Number.isFinite(initialStep)))
      throw new RangeError(`initialStep = ${initialStep}: must be a finite number > 0`);
    this.capacity = capacity;
    this.step = initialStep;
    this.nextX = initialStep;
  }

  /** Whether a point at `x` is due: x reached the next sampling position. */
  due(x: number): boolean {
    return x >= this.nextX;
  }

  /** Records the point at `x` (x grows from call to call) and moves to the next position. */
  add(x: number, point: T): void {
    this.kept.push({ x, point });
    this.nextX = (Math.floor(x / this.step) + 1) * this.step;
    if (this.kept.length <= this.capacity) return;
    // Keep the points at the odd positions (the 2nd, 4th, ...): with x at multiples of the step,
    // those are the multiples of the doubled step.
    const survivors = this.kept.filter((_, i) => i % 2 === 1);
    this.kept.splice(0, this.kept.length, ...survivors);
    this.step *= 2;
    this.nextX = (Math.floor(x / this.step) + 1) * this.step;
  }

  /**
   * The last point, replaced or appended: the run's final figures, which must end the series
   * whatever the sampling position.
   */
  end(x: number, point: T): void {
    if (this.kept.at(-1)?.x === x) this.kept.pop();
    this.kept.push({ x, point });
  }

  get points(): T[] {
    return this.kept.map((k) => k.point);
  }
}
