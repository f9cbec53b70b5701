import type { TensorValue } from '../../../shared/codec/tensor-codec.js';
import type {
  IncomingGradient,
  ParameterServerOptions,
  ParameterServerState,
} from '../../../shared/paramserver/index.js';
import { createLearningRateSchedule } from '../../../shared/optim/learning-rate-schedule.js';

/** A tiny "model" for paramserver tests: two named tensors. */
export const TINY_SHAPES: ReadonlyMap<string, readonly number[]> = new Map([
  ['layer/W', [2, 3]],
  ['layer/b', [3]],
]);

/** Deterministic pseudo-random floats in [-scale, scale) (mulberry32). */
export function randomArray(length: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0 || 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Initial state with seeded values for `shapes` (version 0, fresh optimizer). */
export function initialState(
  shapes: ReadonlyMap<string, readonly number[]> = TINY_SHAPES,
  seed = 7,
): ParameterServerState {
  return {
    version: 0,
    scheduleStep: 0,
    params: [...shapes].map(([name, shape], i) => ({
      name,
      shape,
      values: randomArray(size(shape), seed + i, 0.5),
    })),
  };
}

/** Named tensors with seeded values (a gradient's content). */
export function randomTensors(
  seed: number,
  shapes: ReadonlyMap<string, readonly number[]> = TINY_SHAPES,
  scale = 1,
): Map<string, TensorValue> {
  return new Map(
    [...shapes].map(([name, shape], i) => [
      name,
      { shape, data: randomArray(size(shape), seed * 31 + i, scale) },
    ]),
  );
}

/** A gradient as the intake would offer it; values from (workerId, step) unless given. */
export function gradient({
  workerId,
  step,
  paramVersion,
  tokens = 10,
  tensors,
  receivedAtMs = 0,
  shapes = TINY_SHAPES,
}: {
  workerId: string;
  step: number;
  paramVersion: number;
  tokens?: number;
  tensors?: Map<string, TensorValue>;
  receivedAtMs?: number;
  shapes?: ReadonlyMap<string, readonly number[]>;
}): IncomingGradient {
  const seed = [...workerId].reduce((h, c) => h * 33 + c.charCodeAt(0), 5381) + step * 7919;
  return {
    workerId,
    step,
    paramVersion,
    tokens,
    lossSum: tokens * 2,
    tensors: tensors ?? randomTensors(seed, shapes),
    receivedAtMs,
  };
}

/** Server options for tests: sync, staleness 2, generous timeouts, Adam lr 0.01, clip 1. */
export function serverOptions(
  overrides: Partial<ParameterServerOptions> = {},
): ParameterServerOptions {
  return {
    mode: 'sync',
    staleness: 2,
    roundDeadlineMs: 1_000,
    workerTimeoutMs: 60_000,
    minWorkers: 1,
    lrStalenessScaling: false,
    clipGlobalNorm: 1,
    optimizer: { type: 'adam', momentum: 0.9 },
    schedule: createLearningRateSchedule({
      learningRate: 0.01,
      warmupSteps: 0,
      decay: 'none',
      decaySteps: 1,
      minLearningRate: 0,
    }),
    ...overrides,
  };
}

/** Bitwise equality of two sets of named arrays (NaN-safe, -0 vs 0 distinguished). */
export function assertSameBits(
  actual: ReadonlyMap<string, Float32Array>,
  expected: ReadonlyMap<string, Float32Array>,
  what: string,
): void {
  if (actual.size !== expected.size)
    throw new Error(`${what}: ${actual.size} vs ${expected.size} arrays`);
  for (const [name, a] of actual) {
    const e = expected.get(name);
    if (!e) throw new Error(`${what}: '${name}' missing`);
    const ab = new Uint32Array(a.buffer, a.byteOffset, a.length);
    const eb = new Uint32Array(e.buffer, e.byteOffset, e.length);
    if (ab.length !== eb.length)
      throw new Error(`${what}: '${name}' lengths ${ab.length} vs ${eb.length}`);
    for (let i = 0; i < ab.length; i++) {
      if (ab[i] !== eb[i])
        throw new Error(`${what}: '${name}'[${i}] differs: ${a[i]} vs ${e[i]} (not bit-identical)`);
    }
  }
}
