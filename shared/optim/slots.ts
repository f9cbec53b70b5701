import { tf } from '../engine/tf.js';
import type { Tensor } from '@tensorflow/tfjs';
import type { ParameterSet } from '../model/parameter-set.js';
import { checkedSlotEntries } from './slot-entries.js';

/** Per-parameter optimizer tensors (momentum, Adam moments) kept on the backend between steps. */
export class Slots {
  private readonly values = new Map<string, Tensor>();

  constructor(private readonly slotName: string) {}

  get(name: string, like: Tensor): Tensor {
    let t = this.values.get(name);
    if (!t) {
      t = tf.keep(tf.zerosLike(like));
      this.values.set(name, t);
    }
    return t;
  }

  /** Replaces a slot value; takes ownership of `value` and frees the old one. */
  set(name: string, value: Tensor): void {
    this.values.get(name)?.dispose();
    this.values.set(name, tf.keep(value));
  }

  save(into: Map<string, Float32Array>): void {
    for (const [name, t] of this.values)
      into.set(`${this.slotName}:${name}`, t.dataSync() as Float32Array);
  }

  restore(from: ReadonlyMap<string, Float32Array>, params: ParameterSet): void {
    this.dispose();
    const lengths = {
      has: (name: string) => params.has(name),
      lengthOf: (name: string) => params.get(name).size,
      names: () => params.names(),
    };
    for (const [name, data] of checkedSlotEntries(from, this.slotName, lengths))
      this.values.set(name, tf.keep(tf.tensor(data, params.shapeOf(name), 'float32')));
  }

  dispose(): void {
    for (const t of this.values.values()) t.dispose();
    this.values.clear();
  }
}
