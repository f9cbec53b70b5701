import { ShapeError } from '../errors/index.js';
import { renderValue } from '../errors/render-value.js';
import type { ModelSpec } from '../model/model-spec.js';
import { bosTokenId, horizonOf } from '../model/model-spec.js';
import type { StepPredictor } from '../model/step-predictor.js';
import { KeySequence, type KeySequenceSnapshot } from '../tbptt/key-sequence.js';
import { KeyStore, type EvictionReason } from '../tbptt/key-store.js';
import { ReadyQueue } from '../tbptt/ready-queue.js';
import type { StepRecord } from '../tbptt/step-record.js';
import { StepRingBuffer } from '../tbptt/step-ring-buffer.js';
import {
  DEFAULT_MAX_SEQUENCE_STEPS,
  windowScheduleFor,
  type WindowSchedule,
} from '../tbptt/window-schedule.js';
import type { TbpttTrainer, TrainStepResult } from '../tbptt/tbptt-trainer.js';
import type { EncodedEvent, LabelIds, Standardizer, TokenEncoder } from './event-encoder.js';
import { withEmptyConvContext } from './conv-context-upgrade.js';
import { keySnapshotProblem } from './key-snapshot-check.js';
import type { Prediction } from '../events/prediction.js';
import { stepLayoutOf } from './key-state-mapping.js';
import {
  predictSegments,
  segmentOverflow,
  segmentStepRecord,
  type RejectedEvent,
} from './segment-steps.js';
import { forecastStepRecord, observeForecastEvent, readForecasts } from './residual-forecast.js';

export interface StreamLearnerOptions {
  /** The network (or a stand-in) that predicts each event from the carried state. */
  readonly model: StepPredictor;
  /** Absent: inference only (no training; window bookkeeping still bounded). */
  readonly trainer?: TbpttTrainer | undefined;
  readonly tokens: TokenEncoder;
  readonly labels: LabelIds;
  readonly normalizer: Standardizer;
  readonly k1: number;
  readonly k2: number;
  /**
   * classify: the eos window reaches back at most this many steps (task.maxSequenceSteps; the
   * key's step buffer holds them). Other tasks use k1/k2. Default DEFAULT_MAX_SEQUENCE_STEPS.
   */
  readonly maxSequenceSteps?: number;
  /** Most keys in one training step. */
  readonly maxKeysPerStep: number;
  /** A ready key waits at most this long for its training step. */
  readonly maxWaitMs: number;
  readonly ttlMs: number;
  readonly maxKeys: number;
  /** Most distinct keys stepped together in one inference call. */
  readonly maxKeysPerInference?: number;
  readonly now?: () => number;
  /**
   * process() yields to the event loop (setImmediate) between micro-batches once this long has
   * passed since it last did, so timers — a Kafka consumer's heartbeats — run during long batches.
   */
  readonly yieldEveryMs?: number;
  readonly onEvict?: (key: KeySequence, reason: EvictionReason) => void;
  readonly onTrainStep?: (result: TrainStepResult) => void;
}

/**
 * The per-key online learner every worker runs (docs/design.md §3): for a run of events it predicts
 * each event with the key's carried state *before* learning from it, advances the state, keeps
 * the TBPTT window bookkeeping, and trains batches of ready keys. Events of distinct keys are
 * stepped together in one batched inference call; a key that is ready gets its training step
 * before its next event is processed, so every window ends exactly where TBPTT says it does.
 */
export class StreamLearner {
  readonly store: KeyStore;
  /** Where every key's training windows fall, and so what it stores. */
  readonly schedule: WindowSchedule;
  private readonly o: Required<Omit<StreamLearnerOptions, 'trainer' | 'onEvict' | 'onTrainStep'>> &
    Pick<StreamLearnerOptions, 'trainer' | 'onTrainStep'>;
  private readonly spec: ModelSpec;
  private readonly ready = new ReadyQueue();
  /** Steps that were never trained because their key was evicted first. */
  untrainedStepsEvicted = 0;
  /**
   * classify: steps of sequences longer than maxSequenceSteps that the eos window did not reach
   * (no gradient flows to them).
   */
  untrainedStepsBeyondWindow = 0;
  /** classify: steps of sequences whose eos (and with it the label) never came before the end. */
  untrainedStepsWithoutEos = 0;
  /** Bidirectional: buffered steps of segments dropped for exceeding task.maxSequenceSteps. */
  untrainedStepsSegmentOverflow = 0;
  /** Events the last process() call consumed (fewer than given when it stopped after a step). */
  lastProcessed = 0;
  /** Bidirectional: events refused since the last drainRejected() (segments over their bound). */
  private rejected: RejectedEvent[] = [];
  /** finish() ran: the input has ended. */
  private finished = false;
  /** Keys whose stored state changed since the last drainChangedKeys() (for a changelog). */
  private readonly changed = new Map<string, KeySequence>();

  constructor(options: StreamLearnerOptions) {
    this.o = {
      ...options,
      maxKeysPerInference: options.maxKeysPerInference ?? 512,
      now: options.now ?? Date.now,
      yieldEveryMs: options.yieldEveryMs ?? 100,
      maxSequenceSteps: options.maxSequenceSteps ?? DEFAULT_MAX_SEQUENCE_STEPS,
    };
    this.spec = options.model.spec;
    const horizon = horizonOf(this.spec);
    if (options.k2 < options.k1 + horizon - 1)
      throw new RangeError(
        `tbptt.k2 = ${options.k2} is below k1 + horizon - 1 = ${options.k1 + horizon - 1}: a forecast target arriving ${horizon - 1} steps after its step would fall out of every window (fix: raise tbptt.k2)`,
      );
    this.schedule = windowScheduleFor(this.spec.task, {
      ...this.o,
      bidirectional: this.spec.bidirectional,
    });
    this.store = new KeyStore({
      ttlMs: options.ttlMs,
      maxKeys: options.maxKeys,
      onEvict: (key, reason) => {
        this.ready.delete(key.key);
        this.changed.delete(key.key);
        this.untrainedStepsEvicted += key.pending;
        options.onEvict?.(key, reason);
      },
    });
  }

  /**
   * Predicts, then learns from, a run of encoded events in order. Returns one prediction per
   * processed event: all of them, or with `stopAfterTrainStep` only those before the first
   * training step's end (a distributed learner in lockstep then waits for the parameters that
   * step produces before it predicts the rest, as a single-process learner would).
   */
  async process(
    events: readonly EncodedEvent[],
    { stopAfterTrainStep = false }: { stopAfterTrainStep?: boolean } = {},
  ): Promise<Prediction[]> {
    if (this.finished && events.length > 0)
      throw new Error('internal: StreamLearner.process() after finish(): the input had ended');
    const predictions: Prediction[] = [];
    let start = 0;
    while (start < events.length) {
      await this.maybeYield();
      // A micro-batch: consecutive events of distinct keys, so each key steps at most once, and
      // only its first event's key may be ready to train: the step it forces then takes every
      // key whose window is complete, wherever batches and micro-batches happen to start.
      const seen = new Set<string>();
      let end = start;
      while (
        end < events.length &&
        end - start < this.o.maxKeysPerInference &&
        !seen.has(events[end]!.event.key) &&
        (end === start || !this.ready.has(events[end]!.event.key))
      ) {
        seen.add(events[end]!.event.key);
        end++;
      }
      const slice = events.slice(start, end);
      if (this.ready.has(slice[0]!.event.key))
        if ((await this.trainReady({ all: true })) && stopAfterTrainStep) break;
      predictions.push(...this.step(slice));
      start = end;
      if (
        this.ready.size >= this.o.maxKeysPerStep ||
        this.ready.oldestWaitMs(this.o.now()) >= this.o.maxWaitMs
      )
        if ((await this.trainReady({ all: false })) && stopAfterTrainStep) break;
    }
    this.store.evict(this.o.now());
    this.lastProcessed = start;
    return predictions;
  }

  /**
   * Bidirectional models: predictions are made when a segment's eos arrives, for all its steps,
   * so process() returns them then (not one per event as it goes).
   */
  get predictsAtSegmentEnd(): boolean {
    return this.schedule.kind === 'segment';
  }

  /** Events refused since the last call (a segment over its bound), each once: dead letters. */
  drainRejected(): RejectedEvent[] {
    const out = this.rejected;
    this.rejected = [];
    return out;
  }

  /** Trains every ready key now (shutdown, before a checkpoint). */
  async flush(): Promise<void> {
    await this.trainReady({ all: true });
  }

  /**
   * Ms until the oldest ready key has waited `maxWaitMs` (0: its wait is over), undefined when no
   * key waits or nothing trains. The owner's loop wakes up then and calls trainDue(), so a ready
   * key trains in time even when no further event arrives.
   */
  trainingDueInMs(): number | undefined {
    if (!this.o.trainer || this.ready.size === 0) return undefined;
    return Math.max(0, this.o.maxWaitMs - this.ready.oldestWaitMs(this.o.now()));
  }

  /** Ms until a key is due for eviction (state.ttlMs, state.maxKeys; 0: now); undefined: no keys. */
  evictionDueInMs(): number | undefined {
    return this.store.evictionDueInMs(this.o.now());
  }

  /**
   * Evicts the keys idle longer than state.ttlMs (and beyond state.maxKeys) now, although no
   * event came: a partition that goes quiet must not keep its keys forever. Returns how many.
   */
  evictDue(): number {
    return this.store.evict(this.o.now());
  }

  /** Trains the ready keys whose wait is over (and full steps of ready keys); whether any step ran. */
  async trainDue(): Promise<boolean> {
    return this.trainReady({ all: false });
  }

  /**
   * End of input: trains every key with pending steps, ready or not — a key with fewer than k1
   * new steps gets a shorter step covering just those — and returns the steps so covered. The
   * learner takes no further events afterwards: a short step moves a key off the k1 grid that
   * its stored window starts are kept on. A classify sequence without its eos has no label to
   * learn from: its steps are counted (untrainedStepsWithoutEos), not trained.
   */
  async finish(): Promise<{ keys: number; steps: number }> {
    let keys = 0;
    let steps = 0;
    if (this.o.trainer) {
      for (const sequence of this.store.values())
        if (sequence.pending > 0 && !sequence.ready && !this.schedule.trainsOpenSequences)
          this.untrainedStepsWithoutEos += sequence.pending;
        else if (sequence.pending > 0) {
          keys++;
          steps += sequence.pending;
          this.ready.add(sequence, this.o.now());
        }
      await this.trainReady({ all: true });
    }
    this.finished = true;
    return { keys, steps };
  }

  /** What one key stores at most: its step buffer and window-start states (the summary's `storage`). */
  storagePerKey(): {
    schedule: WindowSchedule['kind'];
    stepsPerKey: number;
    windowStartsPerKey: number;
    stateFloats: number;
    maxBytesPerKey: number;
  } {
    const { bufferSteps, maxWindowStarts, kind } = this.schedule;
    const stateFloats = this.o.model.stateSize;
    const stepBytes = StepRingBuffer.bytesFor({
      capacity: bufferSteps,
      ...stepLayoutOf(this.spec),
    });
    return {
      schedule: kind,
      stepsPerKey: bufferSteps,
      windowStartsPerKey: maxWindowStarts,
      stateFloats,
      // The carried state, plus the window starts (one of which may be the carried state itself).
      maxBytesPerKey: stepBytes + (maxWindowStarts + 1) * stateFloats * 4,
    };
  }

  /** Steps processed but not (yet) covered by a training step, over every live key. */
  pendingSteps(): number {
    let steps = 0;
    for (const sequence of this.store.values()) steps += sequence.pending;
    return steps;
  }

  get readyKeys(): number {
    return this.ready.size;
  }

  /** Keys stepped, trained or reset since the last call, each once: what must go to the changelog. */
  drainChangedKeys(): KeySequence[] {
    const out = [...this.changed.values()];
    this.changed.clear();
    return out;
  }

  /**
   * Puts a key back from its snapshot (changelog restore). A snapshot this model cannot use is a
   * ShapeError and leaves the learner as it was: the caller skips that key, which starts afresh.
   */
  restoreKey(stored: KeySequenceSnapshot): void {
    const snapshot = withEmptyConvContext(stored, this.spec);
    const problem = keySnapshotProblem(snapshot, {
      spec: this.spec,
      stateSize: this.o.model.stateSize,
      schedule: this.schedule,
    });
    if (problem !== undefined)
      throw new ShapeError(
        `stored state of key ${renderValue(snapshot.key)}: ${problem} (fix: none needed, the key starts afresh; if every key fails, the changelog was written by another model configuration)`,
      );
    const sequence = this.sequenceFor(snapshot.key);
    sequence.restore(snapshot);
    this.store.restore(sequence, snapshot.lastSeenMs);
    if (sequence.ready && this.o.trainer) this.ready.add(sequence, this.o.now());
  }

  /** Forgets a key without an eviction (its partition moved to another worker). */
  dropKey(key: string): void {
    this.store.delete(key);
    this.ready.delete(key);
    this.changed.delete(key);
  }

  /** Trains ready keys in steps of at most maxKeysPerStep; whether any step ran. */
  private async trainReady({ all }: { all: boolean }): Promise<boolean> {
    const { trainer, maxKeysPerStep } = this.o;
    let trained = false;
    while (
      this.ready.size >= (all ? 1 : maxKeysPerStep) ||
      (!all && this.ready.size > 0 && this.ready.oldestWaitMs(this.o.now()) >= this.o.maxWaitMs)
    ) {
      await this.maybeYield();
      const keys = this.ready.take(maxKeysPerStep);
      for (const key of keys) {
        const { length } = key.window();
        if (key.pending > length) this.untrainedStepsBeyondWindow += key.pending - length;
      }
      if (trainer) {
        const result = await trainer.train(keys);
        this.o.onTrainStep?.(result);
      } else {
        for (const key of keys) key.markTrained();
      }
      for (const key of keys) this.changed.set(key.key, key);
      trained = true;
    }
    return trained;
  }

  private lastYieldMs = performance.now();

  private async maybeYield(): Promise<void> {
    if (performance.now() - this.lastYieldMs < this.o.yieldEveryMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.lastYieldMs = performance.now();
  }

  private sequenceFor(key: string): KeySequence {
    let sequence = this.store.get(key);
    if (!sequence) {
      const { spec } = this;
      sequence = new KeySequence({
        key,
        stateSize: this.o.model.stateSize,
        schedule: this.schedule,
        initialToken: bosTokenId(spec),
        forecastHorizon: spec.task === 'forecast' ? horizonOf(spec) : undefined,
        buffer: new StepRingBuffer({
          capacity: this.schedule.bufferSteps,
          ...stepLayoutOf(spec),
        }),
      });
    }
    this.store.touch(sequence, this.o.now());
    return sequence;
  }

  /** One batched inference step for events of distinct keys, then the state/bookkeeping update. */
  private step(events: readonly EncodedEvent[]): Prediction[] {
    if (this.schedule.kind === 'segment') return this.stepSegments(events);
    const { spec } = this;
    const { model } = this.o;
    const b = events.length;
    const stateSize = model.stateSize;
    const sequences = events.map((e) => this.sequenceFor(e.event.key));
    const records = events.map((e, i) => this.stepRecord(e, sequences[i]!));
    const state = new Float32Array(b * stateSize);
    sequences.forEach((s, i) => state.set(s.state, i * stateSize));
    const { outputs, state: next } = model.predictStep({
      batchSize: b,
      tokens:
        spec.inputKind === 'tokens'
          ? Int32Array.from(records, (r) => r.inputToken ?? 0)
          : undefined,
      features:
        spec.inputKind === 'features'
          ? concat(
              records.map((r) => r.inputFeatures!),
              spec.featureSize,
            )
          : undefined,
      state,
    });
    const version = model.params.version;
    const predictions: Prediction[] = [];
    const o = spec.outputSize;
    events.forEach((e, i) => {
      const sequence = sequences[i]!;
      this.changed.set(sequence.key, sequence);
      predictions.push(this.describe(e, sequence, outputs, i * o, version));
      sequence.advance(records[i]!, next.subarray(i * stateSize, (i + 1) * stateSize), version);
      if (e.token !== undefined) sequence.previousToken = e.token;
      if (e.features !== undefined) sequence.previousFeatures = e.features;
      if (spec.task === 'forecast')
        observeForecastEvent({
          sequence,
          target: e.rawTarget!,
          features: e.event.features!,
          normalizer: this.o.normalizer,
        });
      if (e.event.eos) sequence.closing = true;
      if (sequence.ready) {
        if (this.o.trainer) this.ready.add(sequence, this.o.now());
        else sequence.markTrained();
      }
    });
    return predictions;
  }

  /**
   * Bidirectional: buffers each event as a step of its key's segment (refusing one beyond
   * task.maxSequenceSteps); the segments an eos closes are predicted whole, then train.
   */
  private stepSegments(events: readonly EncodedEvent[]): Prediction[] {
    const { model } = this.o;
    if (!model.forward) throw new Error('internal: a bidirectional learner needs model.forward');
    const closed: KeySequence[] = [];
    const none = new Float32Array(0);
    for (const e of events) {
      const sequence = this.sequenceFor(e.event.key);
      this.changed.set(sequence.key, sequence);
      const overflow = segmentOverflow(sequence, e, this.schedule.bufferSteps);
      if (overflow) {
        this.rejected.push(overflow);
        if (e.event.eos) {
          this.untrainedStepsSegmentOverflow += sequence.pending;
          sequence.reset();
        }
        continue;
      }
      sequence.advance(segmentStepRecord(e), none, model.params.version);
      if (e.event.eos) {
        sequence.closing = true;
        closed.push(sequence);
      }
    }
    if (closed.length === 0) return [];
    const predictions = predictSegments({
      model: { spec: this.spec, params: model.params, forward: (b) => model.forward!(b) },
      labels: this.o.labels,
      keys: closed,
    });
    for (const sequence of closed)
      if (this.o.trainer) this.ready.add(sequence, this.o.now());
      else sequence.markTrained();
    return predictions;
  }

  private stepRecord(e: EncodedEvent, sequence: KeySequence): StepRecord {
    const { spec } = this;
    switch (spec.task) {
      case 'lm':
        return { inputToken: sequence.previousToken, classTarget: e.classTarget, hasLoss: true };
      case 'forecast':
        return forecastStepRecord(sequence, {
          featureSize: spec.featureSize,
          horizon: horizonOf(spec),
        });
      default:
        return {
          inputToken: e.token,
          inputFeatures: e.features,
          classTarget: e.classTarget,
          hasLoss: e.hasLoss,
        };
    }
  }

  /** Decoded token strings by id, filled as ids are first predicted (one string per id, not per event). */
  private readonly tokenTexts: string[] = [];

  private tokenText(id: number): string {
    // A words vocabulary gives an id its word only when admitted: such texts are not cached.
    if (this.o.tokens.growing === true) return this.o.tokens.decode(id);
    return (this.tokenTexts[id] ??= this.o.tokens.decode(id));
  }

  /**
   * The prediction for event `e` from its row of the step's outputs (`outputs[offset, offset +
   * outputSize)`), before the event is learned from. Built as one object literal per task: this
   * runs once per event.
   */
  private describe(
    e: EncodedEvent,
    sequence: KeySequence,
    outputs: Float32Array,
    offset: number,
    paramVersion: number,
  ): Prediction {
    const { spec } = this;
    const o = spec.outputSize;
    const eos = e.event.eos || undefined;
    switch (spec.task) {
      case 'lm': {
        const best = argmax(outputs, offset, o);
        const p = outputs[offset + e.classTarget!]!;
        return {
          index: e.index,
          key: e.event.key,
          line: e.line,
          task: 'lm',
          paramVersion,
          eos,
          predictedToken: this.tokenText(best),
          probability: p,
          bits: -Math.log2(Math.max(p, 1e-30)),
        };
      }
      case 'tag':
      case 'classify': {
        // Only labels seen so far can be predicted: unused output slots of discovered labels are ignored.
        const known = Math.min(this.o.labels.size, o);
        const best = known > 0 ? argmax(outputs, offset, known) : undefined;
        return {
          index: e.index,
          key: e.event.key,
          line: e.line,
          task: spec.task,
          paramVersion,
          eos,
          label: best === undefined ? undefined : this.o.labels.labelOf(best),
          confidence: best === undefined ? undefined : outputs[offset + best],
          actual: e.classTarget === undefined ? undefined : this.o.labels.labelOf(e.classTarget),
        };
      }
      case 'forecast': {
        const forecasts = readForecasts({
          sequence,
          outputs,
          offset,
          normalizer: this.o.normalizer,
        });
        const forecast = forecasts[0]!;
        const actual = e.rawTarget!;
        // Over the features present: a missing one (NaN, null in JSON) is not scored.
        let se = 0;
        let present = 0;
        for (let i = 0; i < forecast.length; i++) {
          if (Number.isNaN(actual[i]!)) continue;
          se += (forecast[i]! - actual[i]!) ** 2;
          present++;
        }
        return {
          index: e.index,
          key: e.event.key,
          line: e.line,
          task: 'forecast',
          paramVersion,
          eos,
          forecast,
          forecasts: forecasts.length > 1 ? forecasts : undefined,
          actual,
          squaredError: present > 0 ? se / present : undefined,
        };
      }
    }
  }
}

/** Index (from 0) of the largest of values[offset, offset + length). */
function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  let bestValue = values[offset]!;
  for (let i = 1; i < length; i++) {
    const v = values[offset + i]!;
    if (v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

function concat(vectors: readonly Float32Array[], width: number): Float32Array {
  const out = new Float32Array(vectors.length * width);
  vectors.forEach((v, i) => out.set(v, i * width));
  return out;
}
