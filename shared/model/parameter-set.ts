import { tf } from '../engine/tf.js';
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

export interface NamedArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * The trainable parameters of a model: named tf.Variables in a fixed order, plus the version
 * counter the parameter service bumps on every applied update. Names are the ones of
 * docs/model-math.md and travel in checkpoints and on the params topic.
 */
export class ParameterSet {
  private readonly variables = new Map<string, Variable>();
  /** Version of these values: 0 for the initial parameters, +1 per applied update. */
  version = 0;

  constructor(entries: Iterable<{ name: string; shape: readonly number[]; values: Float32Array }>) {
    for (const { name, shape, values } of entries) {
      if (this.variables.has(name)) throw new ShapeError(`parameter '${name}' is defined twice`);
      const initial = tf.tensor(values, [...shape], 'float32');
      this.variables.set(name, tf.variable(initial, true, `${name}_${nextId++}`));
      initial.dispose(); // the variable holds its own reference to the data
    }
  }

  names(): string[] {
    return [...this.variables.keys()];
  }

  has(name: string): boolean {
    return this.variables.has(name);
  }

  get(name: string): Variable {
    const v = this.variables.get(name);
    if (!v) throw new ShapeError(`no parameter named '${name}'; known: ${this.names().join(', ')}`);
    return v;
  }

  shapeOf(name: string): number[] {
    return this.get(name).shape;
  }

  /** Number of scalar parameters. */
  size(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  variableList(): Variable[] {
    return [...this.variables.values()];
  }

  /** Copies of the current values, by name. */
  toArrays(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.variables) out.set(name, v.dataSync() as Float32Array);
    return out;
  }

  toNamedArrays(): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const [name, v] of this.variables)
      out.set(name, { shape: v.shape, data: v.dataSync() as Float32Array });
    return out;
  }

  /**
   * Overwrites values by name. Every name must be known and every length must match: a
   * checkpoint of another model shape is an error, not a silent partial load.
   */
  assignArrays(values: ReadonlyMap<string, Float32Array | NamedArray>): void {
    for (const [name, value] of values) {
      const v = this.get(name);
      const data = value instanceof Float32Array ? value : value.data;
      if (!(value instanceof Float32Array) && value.shape.join('x') !== v.shape.join('x')) {
        throw new ShapeError(
          `parameter '${name}' has shape [${v.shape}] but the values have shape [${value.shape}]; the checkpoint was made for another model configuration`,
        );
      }
      if (data.length !== v.size) {
        throw new ShapeError(
          `parameter '${name}' has ${v.size} values but ${data.length} were given; the checkpoint was made for another model configuration`,
        );
      }
      // tfjs-node's tf.tensor() lends the JS array's memory to TensorFlow and frees its reference
      // on whichever thread drops that buffer last; a variable holding it for a whole version
      // made that a TensorFlow pool thread now and then (heap corruption in long embedded runs,
      // which replace every parameter per update). So the variable gets a TensorFlow-owned copy
      // (x · 1 is x, bit for bit), and the lent buffer is released here, on this thread.
      const lent = tf.tensor(data, v.shape, 'float32');
      const owned = tf.mul(lent, 1);
      lent.dispose();
      v.assign(owned); // the variable now shares owned's data; dropping our handle keeps the count right
      owned.dispose();
    }
  }

  /** Assigns new values computed as tensors (the optimizer's output). Takes ownership of them. */
  assignTensors(values: ReadonlyMap<string, Tensor>): void {
    for (const [name, t] of values) {
      this.get(name).assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

// Variable names must be unique per engine; a counter keeps several models in one process apart.
let nextId = 0;
