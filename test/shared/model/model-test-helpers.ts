/**
 * Shared fixtures of the model tests: specs, hand-built batches (left padding, loss masks, dropout
 * masks), backend switching and float32 → float64 parameter copies. No assertions live here.
 */
import { tf } from '../../../shared/engine/tf.js';
import { withBackend } from '../../../shared/engine/select-backend.js';
import type { CellType, ModelSpec, TaskType, InputKind } from '../../../shared/model/model-spec.js';
import { stateSize } from '../../../shared/model/model-spec.js';
import type { DropoutMasks, TrainingBatch } from '../../../shared/model/training-batch.js';
import { createTestRng, type TestRng } from '../../support/finite-differences.js';

export interface SpecOptions {
  task: TaskType;
  cell: CellType;
  inputKind?: InputKind;
  layers?: number;
  hidden?: number;
  embedding?: number;
  vocabSize?: number;
  featureSize?: number;
  labels?: number;
  peepholes?: boolean;
  coupledGates?: boolean;
  dropout?: number;
  recurrentDropout?: number;
}

export function makeSpec(o: SpecOptions): ModelSpec {
  const inputKind = o.inputKind ?? (o.task === 'forecast' ? 'features' : 'tokens');
  const vocabSize = o.vocabSize ?? 7;
  const featureSize = o.featureSize ?? 3;
  const outputSize =
    o.task === 'lm' ? vocabSize : o.task === 'forecast' ? featureSize : (o.labels ?? 4);
  return {
    task: o.task,
    inputKind,
    vocabSize,
    featureSize,
    outputSize,
    cell: o.cell,
    layers: o.layers ?? 1,
    hidden: o.hidden ?? 6,
    embedding: o.embedding ?? 4,
    peepholes: o.peepholes ?? false,
    coupledGates: o.coupledGates ?? false,
    dropout: o.dropout ?? 0,
    recurrentDropout: o.recurrentDropout ?? 0,
  };
}

export interface BatchOptions {
  batchSize: number;
  steps: number;
  /** Left padding per row (number of padded positions at the start). */
  padding: number[];
  /** Positions (b, t) whose loss is skipped although the step is real. */
  skipLoss?: Array<[number, number]>;
  /** For classify: the single counted (eos) step of each row. */
  eosStep?: number[];
  /** Draw variational dropout masks (scaled 0 or 1/(1-rate)) from the spec's rates. */
  dropoutMasks?: boolean;
  /** Columns of the layer-0 input mask / every layer's recurrent mask forced to 0 in all rows. */
  zeroInputColumn?: number;
  zeroRecurrentColumn?: number;
  seed: number;
}

/** Token ids reserved so that gradients to their embedding rows must be exactly zero. */
export interface ReservedTokens {
  /** Appears only at left-padded positions. */
  readonly paddingOnly: number;
  /** Appears only after the last counted step of a row. */
  readonly afterLastLossOnly: number;
}

export function reservedTokens(spec: ModelSpec): ReservedTokens {
  return { paddingOnly: spec.vocabSize - 2, afterLastLossOnly: spec.vocabSize - 1 };
}

/**
 * A batch that exercises left padding, a loss mask with holes and (optionally) dropout masks.
 * Token inputs use ids 0..V-3 at ordinary positions; id V-2 only at padded positions and id V-1
 * only after a row's last counted step (when there is one), so their embedding rows must get a
 * zero gradient. For `lm` a row that starts a sequence (has padding) begins with BOS.
 */
export function makeBatch(spec: ModelSpec, o: BatchOptions): TrainingBatch {
  const rng = createTestRng(o.seed);
  const B = o.batchSize;
  const T = o.steps;
  const F = spec.featureSize;
  const reserved = reservedTokens(spec);
  const ordinary = spec.vocabSize - 2;
  const validMask = new Float32Array(B * T);
  const lossMask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = o.padding[b]!; t < T; t++) {
      validMask[b * T + t] = 1;
      if (spec.task === 'classify') {
        lossMask[b * T + t] = t === (o.eosStep?.[b] ?? T - 1) ? 1 : 0;
      } else {
        lossMask[b * T + t] = 1;
      }
    }
  }
  for (const [b, t] of o.skipLoss ?? []) lossMask[b * T + t] = 0;

  let tokens: Int32Array | undefined;
  let features: Float32Array | undefined;
  let classTargets: Int32Array | undefined;
  let regressionTargets: Float32Array | undefined;

  if (spec.inputKind === 'tokens') {
    tokens = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let lastLoss = -1;
      for (let t = 0; t < T; t++) if (lossMask[b * T + t]! !== 0) lastLoss = t;
      for (let t = 0; t < T; t++) {
        const bt = b * T + t;
        if (validMask[bt] === 0) tokens[bt] = reserved.paddingOnly;
        else if (spec.task === 'lm' && o.padding[b]! > 0 && t === o.padding[b])
          tokens[bt] = spec.vocabSize; // BOS
        else if (t > lastLoss) tokens[bt] = reserved.afterLastLossOnly;
        else tokens[bt] = rng.int(ordinary);
      }
    }
  } else {
    features = new Float32Array(B * T * F);
    for (let i = 0; i < features.length; i++) features[i] = rng.normal();
  }

  if (spec.task === 'forecast') {
    regressionTargets = new Float32Array(B * T * F);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const bt = b * T + t;
        if (lossMask[bt] === 0) continue;
        for (let k = 0; k < F; k++) regressionTargets[bt * F + k] = rng.normal();
      }
    }
  } else {
    classTargets = new Int32Array(B * T);
    for (let bt = 0; bt < B * T; bt++)
      classTargets[bt] = lossMask[bt] === 0 ? 0 : rng.int(spec.outputSize);
  }

  const S = stateSize(spec);
  const initialState = new Float32Array(B * S);
  for (let i = 0; i < initialState.length; i++) initialState[i] = 0.5 * rng.normal();

  let dropoutMasks: DropoutMasks | undefined;
  if (o.dropoutMasks)
    dropoutMasks = drawMasks(spec, B, rng, o.zeroInputColumn, o.zeroRecurrentColumn);

  return {
    batchSize: B,
    steps: T,
    ...(tokens ? { tokens } : {}),
    ...(features ? { features } : {}),
    ...(classTargets ? { classTargets } : {}),
    ...(regressionTargets ? { regressionTargets } : {}),
    lossMask,
    validMask,
    initialState,
    ...(dropoutMasks ? { dropoutMasks } : {}),
  };
}

/** Scaled Bernoulli masks with the spec's rates (one per layer), optional forced-zero columns. */
export function drawMasks(
  spec: ModelSpec,
  B: number,
  rng: TestRng,
  zeroInputColumn?: number,
  zeroRecurrentColumn?: number,
): DropoutMasks {
  const H = spec.hidden;
  const input: Array<Float32Array | undefined> = [];
  const recurrent: Array<Float32Array | undefined> = [];
  const draw = (n: number, rate: number): Float32Array => {
    const m = new Float32Array(n);
    for (let i = 0; i < n; i++) m[i] = rng.next() < rate ? 0 : 1 / (1 - rate);
    return m;
  };
  for (let l = 0; l < spec.layers; l++) {
    const d = l === 0 ? spec.embedding : H;
    let mi: Float32Array | undefined;
    if (spec.dropout > 0) {
      mi = draw(B * d, spec.dropout);
      if (l === 0 && zeroInputColumn !== undefined)
        for (let b = 0; b < B; b++) mi[b * d + zeroInputColumn] = 0;
    }
    let mh: Float32Array | undefined;
    if (spec.recurrentDropout > 0) {
      mh = draw(B * H, spec.recurrentDropout);
      if (zeroRecurrentColumn !== undefined)
        for (let b = 0; b < B; b++) mh[b * H + zeroRecurrentColumn] = 0;
    }
    input.push(mi);
    recurrent.push(mh);
  }
  return { input, recurrent };
}

/**
 * Random, non-degenerate values for every parameter (float32-representable): the initialised
 * matrices are kept, biases and peepholes (zero or one at initialisation) are given random values
 * so that every term of the mathematics matters.
 */
export function perturbedArrays(
  arrays: Map<string, Float32Array>,
  shapes: (name: string) => number[],
  seed: number,
): Map<string, Float32Array> {
  const rng = createTestRng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, value] of arrays) {
    const v = Float32Array.from(value);
    if (shapes(name).length === 1) {
      for (let i = 0; i < v.length; i++) v[i] = v[i]! + 0.5 * rng.normal();
    } else {
      for (let i = 0; i < v.length; i++) v[i] = v[i]! + 0.1 * rng.normal();
    }
    out.set(name, v);
  }
  return out;
}

// ---------------------------------------------------------------- backends

export interface BackendAvailability {
  readonly name: 'cpu' | 'tensorflow' | 'wasm';
  readonly available: boolean;
  readonly reason?: string;
}

let tensorflowProbe: Promise<BackendAvailability> | undefined;

async function probeTensorflow(): Promise<BackendAvailability> {
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return {
      name: 'tensorflow',
      available: false,
      reason: `tensorflow backend not available: cannot load @tensorflow/tfjs-node (${msg})`,
    };
  }
  if (tf.findBackendFactory('tensorflow') === null) {
    return {
      name: 'tensorflow',
      available: false,
      reason:
        'tensorflow backend not available: @tensorflow/tfjs-node loaded but registered no "tensorflow" backend in this tfjs engine',
    };
  }
  try {
    const ok = await tf.setBackend('tensorflow');
    if (!ok)
      return {
        name: 'tensorflow',
        available: false,
        reason: 'tensorflow backend not available: tf.setBackend("tensorflow") returned false',
      };
  } catch (err) {
    return {
      name: 'tensorflow',
      available: false,
      reason: `tensorflow backend not available: ${String(err)}`,
    };
  }
  return { name: 'tensorflow', available: true };
}

let wasmProbe: Promise<BackendAvailability> | undefined;

/** Loads @tensorflow/tfjs-backend-wasm the way the services do (with our kernel replacements). */
async function probeWasm(): Promise<BackendAvailability> {
  try {
    await withBackend('wasm', () => undefined);
    return { name: 'wasm', available: true };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { name: 'wasm', available: false, reason: `wasm backend not available: ${msg}` };
  }
}

/**
 * cpu always; tensorflow when @tensorflow/tfjs-node loads into the same tfjs engine; wasm when
 * @tensorflow/tfjs-backend-wasm initialises (there the window kernels of shared/model/window run).
 */
export async function backendsUnderTest(): Promise<BackendAvailability[]> {
  tensorflowProbe ??= probeTensorflow();
  const tfNode = await tensorflowProbe;
  wasmProbe ??= probeWasm();
  const wasm = await wasmProbe;
  await tf.setBackend('cpu');
  return [{ name: 'cpu', available: true }, tfNode, wasm];
}

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`could not switch to backend ${name}`);
}

// ---------------------------------------------------------------- comparisons

/** max |a-b| over entries, with the worst index. */
export function maxAbsDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { max: number; index: number } {
  let max = 0;
  let index = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) {
      max = d;
      index = i;
    }
  }
  return { max, index };
}

export function specLabel(spec: ModelSpec): string {
  const cell =
    spec.cell === 'lstm'
      ? `lstm${spec.peepholes ? '+peepholes' : ''}${spec.coupledGates ? '+coupled' : ''}`
      : spec.cell;
  const drop =
    spec.dropout > 0 || spec.recurrentDropout > 0
      ? ` dropout ${spec.dropout}/${spec.recurrentDropout}`
      : '';
  return `${cell} ${spec.layers} layer${spec.layers > 1 ? 's' : ''}, ${spec.task} head on ${spec.inputKind}${drop}`;
}
