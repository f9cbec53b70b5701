import type { GradientId } from '../codec/param-codec.js';
import type { TensorValue } from '../codec/tensor-codec.js';
import type { Config } from '../config/index.js';
import { ConfigError, ShapeError } from '../errors/index.js';
import { applyHostUpdate } from '../optim/host/apply-host-update.js';
import { createHostOptimizer } from '../optim/host/create-host-optimizer.js';
import type { HostOptimizer } from '../optim/host/host-optimizer.js';
import {
  learningRateScheduleFromConfig,
  type LearningRateSchedule,
} from '../optim/learning-rate-schedule.js';
import type { WordCounts } from '../vocabulary/word-counts.js';
import {
  EMBEDDING,
  type ServerVocabulary,
  type ServerVocabularyJson,
} from '../vocabulary/server-vocabulary.js';
import { gradientProblem } from './gradient-check.js';
import {
  asyncRoundPolicy,
  syncRoundPolicy,
  type RoundPolicy,
  type RoundTrigger,
} from './round-policy.js';
import { DEFAULT_MAX_TRACKED_WORKERS } from './worker-bound.js';
import { WorkerLiveness } from './worker-liveness.js';
import { WorkerProgress, type WorkerProgressSnapshot } from './worker-progress.js';

/** Where a gradient's first chunk sits in `<app>.gradients`: it must be re-read after a restart until applied. */
export interface GradientPosition {
  readonly partition: number;
  readonly offset: number;
}

/** A reassembled gradient offered to the server (tensors as arrays; float32 in memory). */
export interface IncomingGradient {
  readonly workerId: string;
  readonly step: number;
  readonly paramVersion: number;
  readonly tokens: number;
  readonly lossSum: number;
  readonly tensors: ReadonlyMap<string, TensorValue>;
  /** This process' clock when the gradient was read (liveness). */
  readonly receivedAtMs: number;
  readonly position?: GradientPosition | undefined;
  /** Frees the tensors' arrays for reuse (GradientIntake's pool); the server calls it once done. */
  readonly release?: (() => void) | undefined;
  /** input.tokenizer "words": words the worker read without an id since its last gradient. */
  readonly wordCounts?: WordCounts | undefined;
}

export type OfferOutcome =
  | { readonly kind: 'accepted'; readonly staleness: number }
  | { readonly kind: 'duplicate' }
  | {
      readonly kind: 'dropped';
      readonly reason: 'stale' | 'future' | 'invalid';
      readonly staleness?: number;
      readonly detail: string;
    };

export interface RoundReport {
  /** The new version. */
  readonly version: number;
  readonly trigger: RoundTrigger;
  readonly gradients: number;
  /** The applied gradients, in the order they were summed. */
  readonly applied: readonly GradientId[];
  readonly workers: readonly string[];
  readonly tokens: number;
  readonly lossSum: number;
  readonly preClipNorm: number;
  readonly clipScale: number;
  readonly learningRate: number;
  /** Token-weighted mean staleness of the round's gradients. */
  readonly meanStaleness: number;
  /** Words given ids by this version, in id order (input.tokenizer "words"). */
  readonly admittedWords?: readonly string[];
}

/** The rules of the service (the `paramserver`, `optimizer` and `clip` sections of the config). */
export interface ParameterServerOptions {
  readonly mode: 'sync' | 'async';
  readonly staleness: number;
  readonly roundDeadlineMs: number;
  readonly workerTimeoutMs: number;
  /** sync: workers that must have reported before a round closes ahead of its deadline. */
  readonly minWorkers: number;
  readonly lrStalenessScaling: boolean;
  readonly clipGlobalNorm: number;
  readonly optimizer: { readonly type: 'adam' | 'sgd'; readonly momentum: number };
  readonly schedule: LearningRateSchedule;
  /** Most worker ids remembered for liveness and dedupe (default DEFAULT_MAX_TRACKED_WORKERS). */
  readonly maxTrackedWorkers?: number;
}

export function parameterServerOptionsFromConfig(config: Config): ParameterServerOptions {
  return {
    ...config.paramserver,
    clipGlobalNorm: config.clip.globalNorm,
    optimizer: { type: config.optimizer.type, momentum: config.optimizer.momentum },
    schedule: learningRateScheduleFromConfig(config.optimizer),
  };
}

/** Everything that determines the server's future: what a checkpoint holds (plus its positions). */
export interface ParameterServerState {
  readonly version: number;
  /** Updates applied since the optimizer started (the learning-rate schedule's step). */
  readonly scheduleStep: number;
  readonly params: ReadonlyArray<{
    readonly name: string;
    readonly shape: readonly number[];
    readonly values: Float32Array;
  }>;
  /** Absent: a fresh optimizer (zero moments). */
  readonly optimizer?: {
    readonly type: 'adam' | 'sgd';
    readonly step: number;
    readonly slots: ReadonlyMap<string, Float32Array>;
  };
  readonly progress?: WorkerProgressSnapshot;
  readonly lastSeenMs?: Readonly<Record<string, number>>;
  /** input.tokenizer "words": the vocabulary, its waiting words and frozen rows. */
  readonly vocabulary?: ServerVocabularyJson | undefined;
}

/** An accepted gradient waiting for its round. */
interface Pending extends IncomingGradient {
  readonly staleness: number;
}

/**
 * The parameter service's logic without Kafka: gradients are offered one by one, a round policy
 * says when the pending ones form a round, and applyRound averages them (token-weighted, in
 * (worker, step) order so arrival order never changes the bits), clips by global norm, steps the
 * optimizer with the scheduled learning rate, and bumps the version. Deduplication by
 * (worker, step) covers applied, dropped and pending gradients; state() / create({ state })
 * round-trip everything that determines later versions, so a restored server continues
 * bit-exactly. Parameters, optimizer slots and the average live in host memory and are updated
 * in place (optim/host): a round allocates nothing, and its state is written out without a copy.
 */
export class ParameterServer {
  private readonly options: ParameterServerOptions;
  private readonly params: Map<string, Float32Array>;
  /** The round's averaged gradient (scratch, reused every round). */
  private readonly average: Map<string, Float32Array>;
  private readonly optimizer: HostOptimizer;
  private readonly policy: RoundPolicy;
  private readonly progress: WorkerProgress;
  private readonly liveness: WorkerLiveness;
  private readonly shapes: ReadonlyMap<string, readonly number[]>;
  private readonly pending = new Map<string, Pending>();
  private openedAtMs: number | undefined;
  private currentVersion: number;
  private step: number;
  private readonly words: ServerVocabulary | undefined;

  private constructor(
    options: ParameterServerOptions,
    state: ParameterServerState,
    words: ServerVocabulary | undefined,
  ) {
    this.options = options;
    this.shapes = new Map(state.params.map((p) => [p.name, [...p.shape]]));
    this.params = new Map();
    for (const { name, shape, values } of state.params) {
      if (this.params.has(name)) throw new ShapeError(`parameter '${name}' is defined twice`);
      const size = shape.reduce((a, b) => a * b, 1);
      if (values.length !== size)
        throw new ShapeError(
          `parameter '${name}' has ${values.length} values but its shape [${shape.join(', ')}] holds ${size}`,
        );
      this.params.set(name, Float32Array.from(values));
    }
    this.average = new Map([...this.params].map(([name, p]) => [name, new Float32Array(p.length)]));
    this.optimizer = createHostOptimizer(options.optimizer);
    if (state.optimizer !== undefined) {
      if (state.optimizer.type !== options.optimizer.type) {
        throw new ConfigError(
          `optimizer.type = "${options.optimizer.type}" but the checkpoint holds "${state.optimizer.type}" moments ` +
            `(fix: set optimizer.type to "${state.optimizer.type}" to continue it, or start from its parameters with a new --model-id)`,
        );
      }
      this.optimizer.restoreState(state.optimizer, this.params);
    }
    this.policy =
      options.mode === 'sync'
        ? syncRoundPolicy({
            roundDeadlineMs: options.roundDeadlineMs,
            minWorkers: options.minWorkers,
          })
        : asyncRoundPolicy();
    const maxWorkers = options.maxTrackedWorkers ?? DEFAULT_MAX_TRACKED_WORKERS;
    this.progress = new WorkerProgress({ snapshot: state.progress ?? {}, maxWorkers });
    this.liveness = new WorkerLiveness({
      timeoutMs: options.workerTimeoutMs,
      lastSeenMs: state.lastSeenMs ?? {},
      maxWorkers,
    });
    this.currentVersion = state.version;
    this.step = state.scheduleStep;
    this.words = words;
    words?.initialize(this.params, { restored: state.vocabulary !== undefined });
  }

  static create({
    options,
    state,
    words,
  }: {
    options: ParameterServerOptions;
    state: ParameterServerState;
    /** input.tokenizer "words": the vocabulary this server owns (restored from state.vocabulary). */
    words?: ServerVocabulary | undefined;
  }): ParameterServer {
    return new ParameterServer(options, state, words);
  }

  /** The vocabulary's words in id order (empty without input.tokenizer "words"). */
  get vocabularyWords(): readonly string[] {
    return this.words?.words ?? [];
  }

  get version(): number {
    return this.currentVersion;
  }

  get scheduleStep(): number {
    return this.step;
  }

  /** Number of scalar parameters. */
  get parameterCount(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.length;
    return n;
  }

  /** Copies of the current parameter values, by name. */
  parameterValues(): Map<string, Float32Array> {
    return new Map([...this.params].map(([name, p]) => [name, p.slice()]));
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The gradient (worker, step) was applied, dropped or is pending. */
  hasSeen(workerId: string, step: number): boolean {
    return this.progress.has(workerId, step) || this.pending.has(pendingKey(workerId, step));
  }

  /**
   * Checks a gradient and keeps it for the open round, or says why not. Never throws for bad
   * input. The server owns the gradient from here: it releases it when it is not accepted, or
   * once its round is applied.
   */
  offer(gradient: IncomingGradient): OfferOutcome {
    const outcome = this.check(gradient);
    if (outcome.kind !== 'accepted') gradient.release?.();
    return outcome;
  }

  private check(gradient: IncomingGradient): OfferOutcome {
    const { workerId, step, paramVersion } = gradient;
    if (this.hasSeen(workerId, step)) return { kind: 'duplicate' };
    this.liveness.seen(workerId, gradient.receivedAtMs);
    const staleness = this.currentVersion - paramVersion;
    if (staleness < 0) {
      // Not recorded as processed: it belongs to parameters this server never published.
      return {
        kind: 'dropped',
        reason: 'future',
        detail: `computed on version ${paramVersion}, but the latest version is ${this.currentVersion}; is another paramserver publishing for this model id?`,
      };
    }
    if (staleness > this.options.staleness) {
      this.progress.record(workerId, step, gradient.receivedAtMs);
      // Its words were still read: counted (once, as it is now recorded), admitted next round.
      this.words?.count(gradient.wordCounts);
      return {
        kind: 'dropped',
        reason: 'stale',
        staleness,
        detail: `computed on version ${paramVersion}, ${staleness} versions before the latest (${this.currentVersion}); paramserver.staleness is ${this.options.staleness}`,
      };
    }
    const problem = gradientProblem(gradient, this.shapes);
    if (problem !== undefined) {
      this.progress.record(workerId, step, gradient.receivedAtMs);
      return { kind: 'dropped', reason: 'invalid', staleness, detail: problem };
    }
    this.pending.set(pendingKey(workerId, step), { ...gradient, staleness });
    this.openedAtMs ??= gradient.receivedAtMs;
    return { kind: 'accepted', staleness };
  }

  /** Whether the pending gradients form a round now, and why. */
  dueRound({
    nowMs,
    arrivalsDone,
  }: {
    nowMs: number;
    arrivalsDone: boolean;
  }): RoundTrigger | undefined {
    if (this.pending.size === 0 || this.openedAtMs === undefined) return undefined;
    return this.policy.due({
      version: this.currentVersion,
      pending: [...this.pending.values()],
      liveWorkers: this.liveness.live(nowMs),
      openedAtMs: this.openedAtMs,
      nowMs,
      arrivalsDone,
    });
  }

  /** When the open round closes on time alone (for a timer); undefined if none is open or it never does. */
  nextDeadlineMs(): number | undefined {
    return this.openedAtMs === undefined ? undefined : this.policy.deadlineMs(this.openedAtMs);
  }

  liveWorkers(nowMs: number): string[] {
    return this.liveness.live(nowMs);
  }

  /** First-chunk positions of the pending gradients (a checkpoint must not move past them). */
  pendingPositions(): GradientPosition[] {
    return [...this.pending.values()].flatMap((g) => (g.position ? [g.position] : []));
  }

  /** Applies all pending gradients as one update: version + 1. */
  applyRound(trigger: RoundTrigger): RoundReport {
    if (this.pending.size === 0) throw new Error('applyRound: no pending gradients');
    const round = [...this.pending.values()].sort(
      (a, b) => compareStrings(a.workerId, b.workerId) || a.step - b.step,
    );
    this.pending.clear();
    this.openedAtMs = undefined;
    const tokens = round.reduce((s, g) => s + g.tokens, 0);
    const meanStaleness = round.reduce((s, g) => s + g.staleness * g.tokens, 0) / tokens;
    const learningRate =
      this.options.schedule(this.step) / (this.options.lrStalenessScaling ? 1 + meanStaleness : 1);
    for (const g of round) this.words?.maskFrozen(g.tensors.get(EMBEDDING));
    const applied = applyHostUpdate({
      params: this.params,
      optimizer: this.optimizer,
      contributions: round,
      clipGlobalNorm: this.options.clipGlobalNorm,
      learningRate,
      average: this.average,
    });
    for (const g of round) g.release?.();
    this.words?.holdFrozen(this.params);
    this.currentVersion++;
    this.step++;
    for (const g of round) this.progress.record(g.workerId, g.step, g.receivedAtMs);
    for (const g of round) this.words?.count(g.wordCounts);
    const admittedWords = this.words?.admit(this.params) ?? [];
    return {
      version: this.currentVersion,
      trigger,
      gradients: round.length,
      applied: round.map((g) => ({ workerId: g.workerId, step: g.step })),
      workers: [...new Set(round.map((g) => g.workerId))],
      tokens,
      lossSum: round.reduce((s, g) => s + g.lossSum, 0),
      preClipNorm: applied.preClipNorm,
      clipScale: applied.clipScale,
      learningRate,
      meanStaleness,
      admittedWords,
    };
  }

  /** A copy of everything that determines later versions (pending gradients excluded: they are re-read). */
  state(): ParameterServerState {
    const view = this.stateView();
    return {
      ...view,
      params: view.params.map((p) => ({ ...p, values: p.values.slice() })),
      optimizer: {
        ...view.optimizer,
        slots: new Map([...view.optimizer.slots].map(([key, slot]) => [key, slot.slice()])),
      },
    };
  }

  /**
   * state() without copying the parameters and slots: their arrays are the live ones, valid until
   * the next applyRound. For writing a version out (checkpoint, publish) before the next round.
   */
  stateView(): ParameterServerState & {
    optimizer: NonNullable<ParameterServerState['optimizer']>;
  } {
    const saved = this.optimizer.saveState();
    return {
      version: this.currentVersion,
      scheduleStep: this.step,
      params: [...this.params].map(([name, values]) => ({
        name,
        shape: this.shapes.get(name)!,
        values,
      })),
      optimizer: { type: this.optimizer.type, step: saved.step, slots: saved.slots },
      progress: this.progress.snapshot(),
      lastSeenMs: this.liveness.snapshot(),
      ...(this.words === undefined ? {} : { vocabulary: this.words.toJSON() }),
    };
  }

  /** Drops (and releases) the pending gradients. */
  dispose(): void {
    for (const g of this.pending.values()) g.release?.();
    this.pending.clear();
  }
}

function pendingKey(workerId: string, step: number): string {
  return `${workerId}\u0000${step}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
