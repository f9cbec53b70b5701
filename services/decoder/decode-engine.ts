/**
 * Computes one dynamic batch of decode jobs on the model: looks up each keyed job's committed
 * state, turns every job into model inputs (prompt tokens, standardised features, the key's next
 * input), runs all jobs of a kind together — generation, labelling and forecasting each advance
 * every job of the batch by one row of one predictStep per time step — and turns the outputs into
 * DecodeResults. A job that cannot run (unknown key, steps a key does not have) gets its own
 * error result; the others are unaffected.
 */
import { wordsText } from '../../shared/vocabulary/word-text.js';
import { WordsTokenizer } from '../../shared/vocabulary/words-tokenizer.js';
import {
  encodeDecodeResult,
  type DecodeErrorCode,
  type DecodeRequest,
  type DecodeResult,
  type DecodedLabel,
} from '../../shared/codec/decode-codec.js';
import {
  forecastBatch,
  type ForecastJob,
  generateBatchYielding,
  labelBatch,
  labelSegments,
  replayLastSteps,
  type SegmentJob,
  type GenerationJob,
  type LabelJob,
} from '../../shared/decoding/index.js';
import { renderValue } from '../../shared/errors/render-value.js';
import { decodeBytes, FeatureNormalizer, type LabelRegistry } from '../../shared/events/index.js';
import type { StreamEvent } from '../../shared/events/stream-event.js';
import type { Tokenizer } from '../../shared/events/tokenizer.js';
import type { Logger } from '../../shared/logging/index.js';
import { horizonOf, type ModelSpec } from '../../shared/model/model-spec.js';
import type { RecurrentModel } from '../../shared/model/recurrent-model.js';
import type { DecodeWork } from './decode-jobs.js';
import type { DecodeItem } from './request-intake.js';
import type { KeyStateLookup, StateView } from './state-view.js';

export interface EngineJob {
  readonly item: DecodeItem;
  readonly request: DecodeRequest;
  readonly work: DecodeWork;
}

/** A streamed partial result, encoded for `<app>.decode-results`. */
export interface PartialResult {
  readonly requestId: string;
  readonly bytes: Uint8Array;
}

export interface DecodeEngineOptions {
  readonly model: RecurrentModel;
  readonly spec: ModelSpec;
  readonly tokenizer: Tokenizer;
  readonly labels: LabelRegistry;
  readonly stateView: Pick<StateView, 'lookup' | 'normalizer'>;
  readonly now: () => number;
  /** Sends partial results (requests with `stream`), in order; awaited before the batch commits. */
  readonly sendPartials: (partials: readonly PartialResult[]) => Promise<void>;
  readonly logger: Logger;
}

/** A job with what it continues from. */
interface Prepared {
  readonly job: EngineJob;
  readonly found: KeyStateLookup | undefined;
}

class JobError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class DecodeEngine {
  private readonly o: DecodeEngineOptions;

  constructor(options: DecodeEngineOptions) {
    this.o = options;
  }

  /** The result of every job, computed with the model's current parameters (`version`). */
  async compute(
    jobs: readonly EngineJob[],
    { version }: { version: number },
  ): Promise<Map<DecodeItem, DecodeResult>> {
    const out = new Map<DecodeItem, DecodeResult>();
    const fail = (job: EngineJob, code: DecodeErrorCode, message: string) =>
      out.set(job.item, this.errorResult(job, code, message, version));
    const byTask = new Map<DecodeWork['task'], Prepared[]>();
    for (const job of jobs) {
      try {
        const prepared = { job, found: this.lookup(job) };
        const list = byTask.get(job.work.task) ?? [];
        list.push(prepared);
        byTask.set(job.work.task, list);
      } catch (error) {
        if (error instanceof JobError) fail(job, error.code, error.message);
        else fail(job, 'internal', `looking up the key failed: ${(error as Error).message}`);
      }
    }
    const run = async (
      task: DecodeWork['task'],
      compute: (prepared: Prepared[]) => Promise<Map<Prepared, DecodeResult | JobError>>,
    ) => {
      const prepared = byTask.get(task) ?? [];
      if (prepared.length === 0) return;
      let results: Map<Prepared, DecodeResult | JobError>;
      try {
        results = await compute(prepared);
      } catch (error) {
        // A fault no request check foresaw: every job of the group answers with it, the decoder goes on.
        for (const p of prepared)
          fail(p.job, 'internal', `the ${task} computation failed: ${(error as Error).message}`);
        return;
      }
      for (const [p, result] of results) {
        if (result instanceof JobError) fail(p.job, result.code, result.message);
        else out.set(p.job.item, result);
      }
    };
    await run('generate', (p) => this.generate(p, version));
    await run('tag', (p) => this.label(p, version, 'tag'));
    await run('classify', (p) => this.label(p, version, 'classify'));
    await run('forecast', (p) => this.forecast(p, version));
    return out;
  }

  /** The key's committed state, for a keyed job; a JobError when the key has none. */
  private lookup(job: EngineJob): KeyStateLookup | undefined {
    const { key } = job.request;
    if (key === undefined) return undefined;
    const found = this.o.stateView.lookup(key, job.item.partition);
    if (found === undefined || found.snapshot.position === 0)
      throw new JobError(
        'unknown_key',
        `key ${renderValue(key)} has no state in partition ${job.item.partition} of the state changelog${found ? ' (its sequence ended and nothing followed)' : ''} (fix: send the key's events first and wait until a worker processed them, or leave key out to start a new sequence)`,
      );
    return found;
  }

  private async generate(
    prepared: readonly Prepared[],
    version: number,
  ): Promise<Map<Prepared, DecodeResult | JobError>> {
    const { model, now } = this.o;
    const partials = new PartialStream({
      send: this.o.sendPartials,
      encode: (request, tokens, logProbs) => ({
        requestId: request.requestId,
        bytes: encodeDecodeResult({
          requestId: request.requestId,
          key: request.key,
          task: 'generate',
          tokens,
          tokenLogProbs: logProbs,
          text: this.textOf(tokens),
          partial: true,
          paramVersion: version,
          tsMs: now(),
        }),
      }),
      logger: this.o.logger,
    });
    const batchJobs: GenerationJob[] = prepared.map(({ job, found }) => {
      const work = job.work as Extract<DecodeWork, { task: 'generate' }>;
      // From a key: its state took every step but the last event's token, which comes first. A
      // sequence that ended (eos) continues as the worker would: a new one, from BOS.
      const fromKey = found !== undefined && !found.snapshot.closing;
      const prompt = fromKey ? [found.snapshot.previousToken, ...work.prompt] : [...work.prompt];
      const { request } = job;
      return {
        prompt,
        state: fromKey ? found.snapshot.state : undefined,
        maxTokens: work.maxTokens,
        stopTokens: work.stopTokens,
        strategy: work.strategy,
        expired: () => now() > (job.item.outcome.kind === 'job' ? job.item.outcome.deadlineMs : 0),
        onTokens: request.stream
          ? (tokens: number[], logProbs: number[]) => partials.add(request, tokens, logProbs)
          : undefined,
      };
    });
    const outcomes = await generateBatchYielding({ model, jobs: batchJobs, yieldEveryMs: 20 });
    await partials.drain();
    const out = new Map<Prepared, DecodeResult | JobError>();
    prepared.forEach((p, i) => {
      const outcome = outcomes[i]!;
      const { request } = p.job;
      if (outcome.finishReason === 'expired') {
        out.set(
          p,
          new JobError(
            'timeout',
            `request expired after ${outcome.tokens.length} generated tokens (fix: give it a later deadline_ms or ask for fewer max_tokens)`,
          ),
        );
        return;
      }
      out.set(p, {
        requestId: request.requestId,
        key: request.key,
        task: 'generate',
        tokens: outcome.tokens,
        text: this.textOf(outcome.tokens),
        tokenLogProbs: outcome.tokenLogProbs,
        logProb: outcome.logProb,
        finishReason: outcome.finishReason,
        paramVersion: version,
        tsMs: now(),
        state: p.found?.freshness,
        ...(request.returnState
          ? {
              startState: p.found?.snapshot.state ?? new Float32Array(model.stateSize),
              nextDistribution: outcome.nextDistribution,
            }
          : {}),
      });
    });
    return out;
  }

  private async label(
    prepared: readonly Prepared[],
    version: number,
    task: 'tag' | 'classify',
  ): Promise<Map<Prepared, DecodeResult | JobError>> {
    if (this.o.spec.bidirectional) return this.labelSegments(prepared, version, task);
    const { model, spec } = this.o;
    const out = new Map<Prepared, DecodeResult | JobError>();
    const runnable: Array<{ p: Prepared; job: LabelJob }> = [];
    const keep = task === 'classify' ? 'last' : 'each';
    for (const p of prepared) {
      const work = p.job.work as Extract<DecodeWork, { task: 'tag' | 'classify' }>;
      const snapshot = p.found?.snapshot;
      try {
        if (work.events.length > 0) {
          // Given events continue the key's sequence (a new one when it ended with eos).
          const state = snapshot && !snapshot.closing ? snapshot.state : undefined;
          runnable.push({
            p,
            job: { state, ...this.inputsOf(work.events, p.job.item.partition), keep },
          });
        } else if (work.task === 'tag') {
          const replay = replayLastSteps({ key: snapshot!, n: work.lastSteps, spec });
          runnable.push({ p, job: { ...replay, keep: 'each' } });
        } else {
          // The key's sequence so far: the head at its state is the prediction of its last event.
          const outputs = model.outputsAt({ batchSize: 1, state: snapshot!.state });
          out.set(p, this.labelResult(p, outputs, 0, version, task));
        }
      } catch (error) {
        out.set(p, new JobError('invalid_request', (error as Error).message));
      }
    }
    if (runnable.length === 0) return out;
    const outcomes = labelBatch({ model, jobs: runnable.map((r) => r.job) });
    runnable.forEach((r, i) =>
      out.set(r.p, this.labelResult(r.p, outcomes[i]!.outputs, 0, version, task)),
    );
    return out;
  }

  /**
   * A bidirectional model labels whole segments (docs/design.md, "Bidirectional encoders on
   * segments"). Given events end the key's open segment (or are a segment of their own): the
   * encoder reads the buffered steps and the events, and the events' labels come back. A key
   * alone is answered only when its segment is complete (its eos seen, not yet learned from):
   * an open segment's labels depend on steps that have not come, so the request is refused.
   */
  private async labelSegments(
    prepared: readonly Prepared[],
    version: number,
    task: 'tag' | 'classify',
  ): Promise<Map<Prepared, DecodeResult | JobError>> {
    const { model } = this.o;
    const out = new Map<Prepared, DecodeResult | JobError>();
    const runnable: Array<{ p: Prepared; job: SegmentJob; keepLast: number }> = [];
    for (const p of prepared) {
      const work = p.job.work as Extract<DecodeWork, { task: 'tag' | 'classify' }>;
      const snapshot = p.found?.snapshot;
      try {
        if (work.events.length > 0) {
          const given = this.inputsOf(work.events, p.job.item.partition);
          const open = snapshot && !snapshot.closing ? snapshot.steps : [];
          runnable.push({ p, job: this.segmentOf(open, given), keepLast: given.steps });
          continue;
        }
        if (!snapshot!.closing) {
          out.set(
            p,
            new JobError(
              'invalid_request',
              `key ${renderValue(p.job.request.key)} has an unfinished segment (${snapshot!.position} steps, no eos yet): with model.bidirectional every label reads the whole segment, so none is known before it ends (fix: send the segment's remaining events, the last with "eos": true, in the request's events; or read the labels the workers write to the predictions topic at its eos)`,
            ),
          );
          continue;
        }
        const whole = this.segmentOf(snapshot!.steps, { steps: 0 });
        const keepLast = work.task === 'tag' ? Math.min(work.lastSteps, whole.steps) : 1;
        runnable.push({ p, job: whole, keepLast });
      } catch (error) {
        out.set(p, new JobError('invalid_request', (error as Error).message));
      }
    }
    if (runnable.length === 0) return out;
    const outcomes = labelSegments({ model, jobs: runnable.map((r) => r.job) });
    const O = this.o.spec.outputSize;
    runnable.forEach((r, i) => {
      const rows = outcomes[i]!;
      const kept = task === 'classify' ? rows : rows.subarray(rows.length - r.keepLast * O);
      out.set(r.p, this.labelResult(r.p, kept, 0, version, task));
    });
    return out;
  }

  /** A segment of a key's buffered steps followed by given inputs. */
  private segmentOf(
    buffered: ReadonlyArray<{ inputToken?: number; inputFeatures?: Float32Array }>,
    given: { tokens?: Int32Array; features?: Float32Array; steps: number },
  ): SegmentJob {
    const steps = buffered.length + given.steps;
    if (this.o.spec.inputKind === 'tokens')
      return {
        tokens: Int32Array.from([
          ...buffered.map((s) => s.inputToken ?? 0),
          ...(given.tokens ?? []),
        ]),
        steps,
      };
    const f = this.o.spec.featureSize;
    const features = new Float32Array(steps * f);
    buffered.forEach((s, i) => features.set(s.inputFeatures ?? new Float32Array(f), i * f));
    if (given.features) features.set(given.features, buffered.length * f);
    return { features, steps };
  }

  private async forecast(
    prepared: readonly Prepared[],
    version: number,
  ): Promise<Map<Prepared, DecodeResult | JobError>> {
    const { model, spec, now } = this.o;
    const f = spec.featureSize;
    const out = new Map<Prepared, DecodeResult | JobError>();
    const runnable: Array<{ p: Prepared; job: ForecastJob }> = [];
    for (const p of prepared) {
      const work = p.job.work as Extract<DecodeWork, { task: 'forecast' }>;
      try {
        const normalizer = this.normalizerOf(p.job.item.partition);
        const snapshot = p.found && !p.found.snapshot.closing ? p.found.snapshot : undefined;
        // As the learner steps a key (shared/learner/residual-forecast.ts): inputs are the
        // previous step's standardised features (zeros at a start, a missing one carried
        // forward), the head's changes are measured from the last observed values.
        let previous = snapshot?.previousFeatures ?? new Float32Array(f);
        const last = snapshot?.forecast?.lastTarget.slice() ?? new Float64Array(f).fill(NaN);
        const inputs = [previous];
        work.events.forEach((e, i) => {
          const features = this.featuresOf(e, i, { missingAllowed: true });
          const input = normalizer.normalize(features);
          for (let j = 0; j < f; j++) if (Number.isNaN(input[j]!)) input[j] = previous[j]!;
          inputs.push((previous = input));
          const target = Array.isArray(e.label) ? e.label : features;
          for (let j = 0; j < f; j++) if (!Number.isNaN(target[j]!)) last[j] = target[j]!;
        });
        const next = inputs.pop()!;
        const feed = new Float32Array(inputs.length * f);
        inputs.forEach((row, i) => feed.set(row, i * f));
        const base = last.map((v, j) => (Number.isNaN(v) ? normalizer.meanOf(j) : v));
        runnable.push({
          p,
          job: { state: snapshot?.state, feed, next, steps: work.steps, base, units: normalizer },
        });
      } catch (error) {
        out.set(p, new JobError('invalid_request', (error as Error).message));
      }
    }
    if (runnable.length === 0) return out;
    const outcomes = forecastBatch({ model, jobs: runnable.map((r) => r.job) });
    runnable.forEach((r, i) => {
      const { request } = r.p.job;
      const forecasts = outcomes[i]!.forecasts;
      out.set(r.p, {
        requestId: request.requestId,
        key: request.key,
        task: 'forecast',
        forecasts: Array.from({ length: forecasts.length / f }, (_, row) =>
          Array.from(forecasts.subarray(row * f, (row + 1) * f)),
        ),
        paramVersion: version,
        tsMs: now(),
        state: r.p.found?.freshness,
      });
    });
    return out;
  }

  private labelResult(
    p: Prepared,
    outputs: Float32Array,
    first: number,
    version: number,
    task: 'tag' | 'classify',
  ): DecodeResult {
    const { labels, spec, now } = this.o;
    const { request } = p.job;
    // Only declared labels can be predicted: output slots beyond them are never trained.
    const known = Math.max(1, Math.min(labels.size || spec.outputSize, spec.outputSize));
    const decoded: DecodedLabel[] = rowsOf(outputs, spec.outputSize).map((row, i) => {
      let best = 0;
      for (let c = 1; c < known; c++) if (row[c]! > row[best]!) best = c;
      return {
        index: first + i,
        value: labels.labelOf(best) ?? best,
        confidence: row[best]!,
        probabilities: Array.from(row.subarray(0, known)),
      };
    });
    return {
      requestId: request.requestId,
      key: request.key,
      task,
      labels: decoded,
      paramVersion: version,
      tsMs: now(),
      state: p.found?.freshness,
    };
  }

  /** The model inputs of given events: token ids, or features standardised as the key's partition does. */
  private inputsOf(events: readonly StreamEvent[], partition: number): StepInputs {
    const { spec, tokenizer } = this.o;
    if (spec.inputKind === 'tokens') {
      return {
        tokens: Int32Array.from(events, (e, i) => {
          if (e.token === undefined)
            throw new RangeError(
              `events[${i}] has features but this model reads tokens (fix: send "token")`,
            );
          return tokenizer.encode(e.token);
        }),
        steps: events.length,
      };
    }
    const normalizer = this.normalizerOf(partition);
    const f = spec.featureSize;
    const features = new Float32Array(events.length * f);
    events.forEach((e, i) => features.set(normalizer.normalize(this.featuresOf(e, i)), i * f));
    return { features, steps: events.length };
  }

  private featuresOf(
    event: StreamEvent,
    index = 0,
    { missingAllowed = false }: { missingAllowed?: boolean } = {},
  ): number[] {
    const f = this.o.spec.featureSize;
    if (event.features === undefined || event.features.length !== f)
      throw new RangeError(
        `events[${index}] has ${event.features?.length ?? 'no'} features but input.featureSize is ${f} (fix: send ${f} numbers as "features")`,
      );
    const missing = event.features.findIndex((x) => Number.isNaN(x));
    if (!missingAllowed && missing >= 0)
      throw new RangeError(
        `events[${index}] has feature ${missing} missing (null), but only a forecast model fills in missing features (fix: send a number for every feature)`,
      );
    return event.features;
  }

  /** The partition's feature statistics as the workers keep them (identity before any were written). */
  private normalizerOf(partition: number): FeatureNormalizer {
    const json = this.o.stateView.normalizer(partition);
    return json
      ? FeatureNormalizer.fromJSON(json, { horizon: horizonOf(this.o.spec) })
      : new FeatureNormalizer({
          featureSize: this.o.spec.featureSize,
          enabled: false,
          horizon: horizonOf(this.o.spec),
        });
  }

  private textOf(tokens: readonly number[]): string {
    return textOfTokens(tokens, this.o.tokenizer);
  }

  private errorResult(
    job: EngineJob,
    code: DecodeErrorCode,
    message: string,
    version: number,
  ): DecodeResult {
    const { request } = job;
    return {
      requestId: request.requestId,
      key: request.key,
      task: job.work.task,
      paramVersion: version,
      error: message,
      errorCode: code,
      tsMs: this.o.now(),
    };
  }
}

/**
 * Streamed tokens on their way out: what the batch produced since the last send goes out as one
 * send (a message per request, holding all its new tokens), the next only after the previous was
 * acknowledged — so a request's partials arrive in order, and a fast batch does not send a message
 * per token. Partials are a courtesy: a failed send is logged, never the request's failure.
 */
class PartialStream {
  private readonly pending = new Map<
    string,
    { request: DecodeRequest; tokens: number[]; logProbs: number[] }
  >();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly o: {
      send: (partials: readonly PartialResult[]) => Promise<void>;
      encode: (request: DecodeRequest, tokens: number[], logProbs: number[]) => PartialResult;
      logger: Logger;
    },
  ) {}

  add(request: DecodeRequest, tokens: number[], logProbs: number[]): void {
    const entry = this.pending.get(request.requestId) ?? { request, tokens: [], logProbs: [] };
    entry.tokens.push(...tokens);
    entry.logProbs.push(...logProbs);
    this.pending.set(request.requestId, entry);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  /** Resolves once every added token was sent (or its send failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending.values()];
      this.pending.clear();
      try {
        await this.o.send(batch.map((e) => this.o.encode(e.request, e.tokens, e.logProbs)));
      } catch (error) {
        this.o.logger.warn(
          { err: error, requests: batch.length },
          'streamed partial results could not be sent; the final results are not affected',
        );
      }
    }
  }
}

type StepInputs =
  | { readonly tokens: Int32Array; readonly steps: number }
  | { readonly features: Float32Array; readonly steps: number };

/** Output ids as text: words joined by spaces, bytes as UTF-8, ids as decimals. */
export function textOfTokens(tokens: readonly number[], tokenizer: Tokenizer): string {
  if (tokenizer instanceof WordsTokenizer) return wordsText(tokens, tokenizer.vocabulary);
  return tokenizer.kind === 'bytes' ? decodeBytes(tokens) : tokens.join(' ');
}

/** Rows of `width` of a flat array (views, no copies). */
function rowsOf(values: Float32Array, width: number): Float32Array[] {
  return Array.from({ length: values.length / width }, (_, i) =>
    values.subarray(i * width, (i + 1) * width),
  );
}
