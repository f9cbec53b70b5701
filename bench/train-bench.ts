/**
 * `rnnstream bench train` (docs/design.md §7): times the training step the services run — a
 * byte-level language model on random tokens, the loss over the last k1 steps of each k2-step
 * window, Adam, token-weighted averaging and global-norm clipping in the parameter service — and
 * reports tokens (counted loss steps) per second of wall time.
 *
 * The same model code path as the worker: RecurrentModel.lossAndGradientTensors, then
 * InProcessParameterService.submit (the paramserver's own update). bench/torch_train.py is the PyTorch anchor of the same
 * configuration; bench/train-throughput.ts runs both and BENCHMARKS.md records the numbers.
 */
import { tf } from '../shared/engine/tf.js';
import { selectBackend, type BackendLogger } from '../shared/engine/select-backend.js';
import { ConfigError, RnnstreamError } from '../shared/errors/index.js';
import type { CellType, ModelSpec } from '../shared/model/model-spec.js';
import { stateSize } from '../shared/model/model-spec.js';
import { createRng } from '../shared/model/random.js';
import { RecurrentModel } from '../shared/model/recurrent-model.js';
import type { TrainingBatch } from '../shared/model/training-batch.js';
import { InProcessParameterService } from '../shared/learner/in-process-parameter-service.js';

export const BENCH_CELLS = ['lstm', 'gru', 'rnn'] as const;
export const BENCH_BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/** Fixed parts of the benchmark's configuration (the services' defaults, docs/design.md §7). */
export const TRAIN_BENCH_FIXED = {
  vocabSize: 256,
  learningRate: 0.002,
  clipGlobalNorm: 5,
  optimizer: 'adam',
  seed: 1,
} as const;

export interface TrainBenchProgress {
  /** 'warmup' for the untimed first steps, 'timed' afterwards. */
  readonly phase: 'warmup' | 'timed';
  /** Steps done in this phase. */
  readonly steps: number;
  /** Seconds spent in this phase. */
  readonly seconds: number;
  /** Tokens per second so far in the timed phase (0 during warm-up). */
  readonly tokensPerSecond: number;
  /** Mean cross-entropy (nats per token) of the step just done. */
  readonly loss: number;
}

export interface TrainBenchOptions {
  readonly cell: CellType;
  readonly hidden: number;
  readonly embedding: number;
  /** Windows (keys) per training step. */
  readonly batch: number;
  /** Steps whose loss counts, at the end of each window. */
  readonly k1: number;
  /** Window length (steps back-propagated through); k2 >= k1. */
  readonly k2: number;
  /** Timed seconds after warm-up (at least one timed step always runs). */
  readonly seconds: number;
  readonly backend: BenchBackend;
  readonly layers?: number;
  /** Untimed steps first (kernel compilation, Adam slot creation). */
  readonly warmupSteps?: number;
  /** Called after every step; cheap, the caller decides how often to print. */
  readonly onProgress?: (progress: TrainBenchProgress) => void;
  /** Where backend selection logs (default: one line on stderr). */
  readonly logger?: BackendLogger;
}

export interface TrainBenchResult {
  readonly tokensPerSecond: number;
  /** The backend that actually ran (tf.getBackend()). */
  readonly backend: string;
  /** Timed steps. */
  readonly steps: number;
  /** Timed seconds (wall clock). */
  readonly seconds: number;
  readonly msPerStep: number;
  /** Number of scalar parameters of the model. */
  readonly parameters: number;
  /** Mean cross-entropy (nats per token) of the last step; ln 256 ≈ 5.545 on random bytes. */
  readonly loss: number;
}

/** A training step left more tensors alive than the one before: a memory leak, which is a bug. */
export class TensorLeakError extends RnnstreamError {}

// ---------------------------------------------------------------- options

const INTEGER_LIMITS = {
  hidden: { max: 16384, example: 256 },
  embedding: { max: 16384, example: 64 },
  batch: { max: 65536, example: 64 },
  k1: { max: 100000, example: 32 },
  k2: { max: 100000, example: 32 },
  layers: { max: 64, example: 1 },
} as const;

/**
 * Validates raw option values (numbers, or strings as commander hands them over) and returns
 * typed options. Every problem is reported at once, each naming the flag, the value, the reason
 * and the fix; throws ConfigError (the CLI prints it and exits 2).
 */
export function parseTrainBenchOptions(
  raw: Readonly<Record<string, unknown>>,
): Omit<TrainBenchOptions, 'onProgress' | 'logger'> {
  const problems: string[] = [];
  const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : String(v));

  const cell = raw.cell ?? 'lstm';
  if (typeof cell !== 'string' || !(BENCH_CELLS as readonly string[]).includes(cell)) {
    problems.push(
      `--cell ${show(cell)} is not a known cell (fix: use one of ${BENCH_CELLS.join(', ')})`,
    );
  }
  const backend = raw.backend ?? 'auto';
  if (typeof backend !== 'string' || !(BENCH_BACKENDS as readonly string[]).includes(backend)) {
    problems.push(
      `--backend ${show(backend)} is not a known backend (fix: use one of ${BENCH_BACKENDS.join(', ')})`,
    );
  }

  const toNumber = (v: unknown): number =>
    typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;

  const integers = {} as Record<keyof typeof INTEGER_LIMITS, number>;
  for (const [name, { max, example }] of Object.entries(INTEGER_LIMITS) as Array<
    [keyof typeof INTEGER_LIMITS, { max: number; example: number }]
  >) {
    const value = raw[name] ?? (name === 'layers' ? 1 : undefined);
    if (value === undefined) {
      problems.push(`--${name} is missing (fix: pass e.g. --${name} ${example})`);
      continue;
    }
    const n = toNumber(value);
    if (!Number.isInteger(n) || n < 1) {
      problems.push(
        `--${name} ${show(value)} must be a positive integer (fix: pass e.g. --${name} ${example})`,
      );
    } else if (n > max) {
      problems.push(
        `--${name} ${show(value)} is larger than ${max}, more than a benchmark can hold in memory (fix: pass e.g. --${name} ${example})`,
      );
    } else {
      integers[name] = n;
    }
  }
  if (integers.k1 !== undefined && integers.k2 !== undefined && integers.k2 < integers.k1) {
    problems.push(
      `--k2 ${integers.k2} is smaller than --k1 ${integers.k1}: the loss covers the last k1 steps of each k2-step window, so the window must hold them (fix: pass --k2 ${integers.k1} or more, or lower --k1 to ${integers.k2})`,
    );
  }

  const secondsRaw = raw.seconds ?? 10;
  const seconds = toNumber(secondsRaw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    problems.push(
      `--seconds ${show(secondsRaw)} must be a number of seconds > 0 (fix: pass e.g. --seconds 10)`,
    );
  }
  const warmupRaw = raw.warmupSteps ?? 2;
  const warmupSteps = toNumber(warmupRaw);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    problems.push(`warm-up steps ${show(warmupRaw)} must be an integer >= 0 (fix: pass e.g. 2)`);
  }

  if (problems.length > 0) {
    throw new ConfigError(
      `bench train: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`}`,
    );
  }
  return {
    cell: cell as CellType,
    backend: backend as BenchBackend,
    hidden: integers.hidden,
    embedding: integers.embedding,
    batch: integers.batch,
    k1: integers.k1,
    k2: integers.k2,
    layers: integers.layers,
    seconds,
    warmupSteps,
  };
}

// ---------------------------------------------------------------- the benchmark

export function benchModelSpec({
  cell,
  hidden,
  embedding,
  layers,
}: {
  cell: CellType;
  hidden: number;
  embedding: number;
  layers: number;
}): ModelSpec {
  return {
    task: 'lm',
    inputKind: 'tokens',
    vocabSize: TRAIN_BENCH_FIXED.vocabSize,
    featureSize: 1,
    outputSize: TRAIN_BENCH_FIXED.vocabSize,
    cell,
    layers,
    hidden,
    embedding,
    peepholes: false,
    coupledGates: false,
    dropout: 0,
    recurrentDropout: 0,
  };
}

/**
 * Seeded random byte windows: inputs x[0..k2), targets x[1..k2], zero initial state, loss on the
 * last k1 steps of each window, no padding (every key has a full window of history).
 */
export function randomByteBatch({
  spec,
  batch,
  k1,
  k2,
  seed,
}: {
  spec: ModelSpec;
  batch: number;
  k1: number;
  k2: number;
  seed: number;
}): TrainingBatch {
  const rng = createRng(seed);
  const n = batch * k2;
  const tokens = new Int32Array(n);
  const classTargets = new Int32Array(n);
  const lossMask = new Float32Array(n);
  for (let b = 0; b < batch; b++) {
    let previous = Math.floor(rng.uniform() * spec.vocabSize);
    for (let t = 0; t < k2; t++) {
      const next = Math.floor(rng.uniform() * spec.vocabSize);
      tokens[b * k2 + t] = previous;
      classTargets[b * k2 + t] = next;
      lossMask[b * k2 + t] = t >= k2 - k1 ? 1 : 0;
      previous = next;
    }
  }
  return {
    batchSize: batch,
    steps: k2,
    tokens,
    classTargets,
    lossMask,
    validMask: new Float32Array(n).fill(1),
    initialState: new Float32Array(batch * stateSize(spec)),
  };
}

/**
 * Runs `warmupSteps` untimed training steps, then timed steps for `seconds`, on the requested
 * backend. Tokens per step = batch × k1 (the steps whose loss counts). Throws TensorLeakError if
 * the number of live tensors grows from one step to the next.
 */
export async function runTrainBench(options: TrainBenchOptions): Promise<TrainBenchResult> {
  const { onProgress, logger } = options;
  const {
    cell,
    hidden,
    embedding,
    batch,
    k1,
    k2,
    seconds,
    backend: requested,
    layers = 1,
    warmupSteps = 2,
  } = parseTrainBenchOptions({ ...options });
  const { backend } = await selectBackend(logger ? { requested, logger } : { requested });
  const actualBackend = tf.getBackend() ?? backend;

  const spec = benchModelSpec({ cell, hidden, embedding, layers });
  const model = RecurrentModel.create({ spec, seed: TRAIN_BENCH_FIXED.seed });
  const service = new InProcessParameterService({
    model,
    options: {
      mode: 'async',
      staleness: 0,
      roundDeadlineMs: 0,
      workerTimeoutMs: 30_000,
      minWorkers: 1,
      lrStalenessScaling: false,
      clipGlobalNorm: TRAIN_BENCH_FIXED.clipGlobalNorm,
      optimizer: { type: TRAIN_BENCH_FIXED.optimizer, momentum: 0 },
      schedule: () => TRAIN_BENCH_FIXED.learningRate,
    },
  });
  const tokensPerStep = batch * k1;

  let stepIndex = 0;
  /** Live tensors after the first step; every later step must match. */
  let baseline: number | undefined;
  const trainStep = (): number => {
    // Fresh random bytes every step (a few thousand draws: microseconds next to the step), so the
    // model cannot memorise a repeated batch and the loss stays near ln 256 as a sanity check.
    const trainingBatch = randomByteBatch({
      spec,
      batch,
      k1,
      k2,
      seed: TRAIN_BENCH_FIXED.seed * 1_000_003 + stepIndex,
    });
    const { lossSum, count, gradients } = model.lossAndGradientTensors(trainingBatch);
    service.submit({
      workerId: 'bench',
      step: stepIndex,
      paramVersion: model.params.version,
      tokens: count,
      lossSum,
      gradients,
    });
    stepIndex++;
    const live = tf.memory().numTensors;
    if (baseline === undefined) baseline = live;
    else if (live !== baseline) {
      throw new TensorLeakError(
        `training step ${stepIndex} on the ${actualBackend} backend left ${live} tensors alive, ${live - baseline} more than after step 1 (${baseline}): a tensor leaks every step (fix: find the tensor created outside tf.tidy and not disposed)`,
      );
    }
    return count === 0 ? 0 : lossSum / count;
  };

  try {
    const warmupStart = performance.now();
    for (let i = 0; i < warmupSteps; i++) {
      const loss = trainStep();
      onProgress?.({
        phase: 'warmup',
        steps: i + 1,
        seconds: (performance.now() - warmupStart) / 1000,
        tokensPerSecond: 0,
        loss,
      });
    }
    // Let pending I/O (log lines, progress output) through before the clock starts.
    await new Promise((resolve) => setImmediate(resolve));

    const start = performance.now();
    const deadline = start + seconds * 1000;
    let steps = 0;
    let loss = Number.NaN;
    do {
      loss = trainStep();
      steps++;
      const elapsed = (performance.now() - start) / 1000;
      onProgress?.({
        phase: 'timed',
        steps,
        seconds: elapsed,
        tokensPerSecond: (steps * tokensPerStep) / elapsed,
        loss,
      });
    } while (performance.now() < deadline);
    // Every op has run (losses and norms are read back each step); make sure the last update has too.
    model.params.get('head/b').dataSync();
    const elapsed = (performance.now() - start) / 1000;

    return {
      tokensPerSecond: (steps * tokensPerStep) / elapsed,
      backend: actualBackend,
      steps,
      seconds: elapsed,
      msPerStep: (elapsed * 1000) / steps,
      parameters: model.params.size(),
      loss,
    };
  } finally {
    model.dispose();
  }
}
