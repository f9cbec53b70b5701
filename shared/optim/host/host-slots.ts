import { checkedSlotEntries } from '../slot-entries.js';

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
    const lengths = {
      has: (name: string) => params.has(name),
      lengthOf: (name: string) => params.get(name)!.length,
      names: () => [...params.keys()],
    };
    for (const [name, data] of checkedSlotEntries(from, this.slotName, lengths))
      this.values.set(name, Float32Array.from(data));
  }
}
