import { ShapeError } from '../../errors/index.js';

/**
 * Per-parameter optimizer arrays (momentum, Adam moments) in host memory, created zero on first
 * use and kept for the life of the optimizer.
 */
export class HostSlots {
  private readonly values = new Map<string, Float32Array>();

  constructor(private readonly slotName: string) {}

  get(name: string, length: number): Float32Array {
    let slot = this.values.get(name);
    if (slot === undefined) {
      slot = new Float32Array(length);
      this.values.set(name, slot);
    }
    return slot;
  }

  save(into: Map<string, Float32Array>): void {
    for (const [name, slot] of this.values) into.set(`${this.slotName}:${name}`, slot);
  }

  restore(
    from: ReadonlyMap<string, Float32Array>,
    params: ReadonlyMap<string, Float32Array>,
  ): void {
    this.values.clear();
    const prefix = `${this.slotName}:`;
    for (const [key, data] of from) {
      if (!key.startsWith(prefix)) continue;
      const name = key.slice(prefix.length);
      const param = params.get(name);
      if (param === undefined)
        throw new ShapeError(
          `optimizer slot '${key}' belongs to no parameter of this model (known: ${[...params.keys()].join(', ')}); the checkpoint belongs to another model`,
        );
      if (data.length !== param.length)
        throw new ShapeError(
          `optimizer slot '${key}' has ${data.length} values but parameter '${name}' has ${param.length}; the checkpoint belongs to another model`,
        );
      this.values.set(name, Float32Array.from(data));
    }
  }
}
