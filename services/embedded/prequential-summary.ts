import {
  BitsPerToken,
  ClassificationMetrics,
  type ClassScores,
  ForecastScores,
  type HorizonScores,
  MajorityClassBaseline,
  MeanSquaredError,
  NgramBaseline,
  uniformBitsPerToken,
} from '../../shared/evaluation/index.js';
import { tf } from '../../shared/engine/tf.js';
import type { Prediction } from '../../shared/events/prediction.js';
import type { TaskType } from '../../shared/model/model-spec.js';

/** The summary of docs/design.md §7 (CONTRACT), plus the trivial baselines on the same stream. */
export interface RunSummary {
  events: number;
  keys: number;
  skipped: number;
  tokensPerSecond: number;
  metrics: {
    bitsPerToken?: number;
    /** seq2seq: fraction of pairs whose decoded hypothesis equals the target. */
    exactMatch?: number;
    /** seq2seq: Σ token edit distance / Σ target length, of the decoded hypotheses. */
    tokenErrorRate?: number;
    accuracy?: number;
    macroF1?: number;
    /** forecast: the MSE one step ahead (h = 1), in original units (= perHorizon[0].mse). */
    mse?: number;
    /** forecast: MAE one step ahead (= perHorizon[0].mae). */
    mae?: number;
    /** forecast: MAE / the last-value MAE one step ahead (= perHorizon[0].mase). */
    mase?: number;
    /**
     * forecast: MSE, MAE, MASE and relative MSE of every horizon step h = 1..task.horizon, beside
     * the last-value and running-mean baselines' errors on the same values.
     */
    perHorizon?: HorizonScores[];
    /**
     * tag, classify: precision, recall, F1 and support of every label that macroF1 averages
     * over (seen as a target or predicted), keyed by the label as written in the events.
     */
    perClass?: Record<string, ClassScores>;
    /**
     * lm with input.tokenizer "words": the share of targets that were `<oov>` (a word without an
     * id yet, scored as that one class; docs/design.md, "Words and vocabularies").
     */
    oovRate?: number;
  };
  /** Same metrics over the most recent events (progress lines). */
  recent: { bitsPerToken?: number; accuracy?: number; mse?: number };
  baselines: {
    bitsPerToken?: number;
    accuracy?: number;
    macroF1?: number;
    /** forecast: the last-value forecast's MSE and MAE one step ahead. */
    mse?: number;
    mae?: number;
    /** forecast: the key's running mean as the forecast, one step ahead. */
    runningMeanMse?: number;
    /** lm: the online n-gram model on the same tokens (absent when evaluation.ngramOrder is 0). */
    ngram?: NgramReport;
  };
  paramVersion: number;
  seconds: number;
  /** Live TensorFlow.js tensors and resident memory: flat after warm-up, or something leaks. */
  liveTensors: number;
  rssMiB: number;
  /** What training covered (absent when the run does not train). */
  training?: TrainingReport | undefined;
  /** What the learner stores per live key (its window schedule fixes it). */
  storage?: StorageReport | undefined;
}

/** The bound on what one key holds (shared/tbptt/window-schedule.ts, docs/design.md §3). */
export interface StorageReport {
  /**
   * 'truncated' (tbptt.k1/k2), 'whole-sequence' (classify, task.maxSequenceSteps) or 'segment'
   * (model.bidirectional: whole segments of at most task.maxSequenceSteps steps).
   */
  schedule: 'truncated' | 'whole-sequence' | 'segment';
  /** Steps (inputs and targets) of the ring buffer: max(k1, k2), or task.maxSequenceSteps. */
  stepsPerKey: number;
  /** Most window-start states held at once, besides the carried state. */
  windowStartsPerKey: number;
  /** Floats of one state (all layers; h and c for the LSTM). */
  stateFloats: number;
  /** Bytes of the key's arrays at most: ring buffer plus states. */
  maxBytesPerKey: number;
}

/** The n-gram baseline's scores and the size of its count table. */
export interface NgramReport {
  order: number;
  bitsPerToken: number;
  /** Over the same most recent tokens as `recent.bitsPerToken`. */
  recentBitsPerToken: number;
  /** Stored contexts (strings of 1..order tokens with their counts) and the bound on them. */
  contexts: number;
  maxContexts: number;
  /** New contexts not stored (and so not counted) because `maxContexts` had been reached. */
  contextsDropped: number;
}

/** What the n-gram baseline of an lm summary is built with (docs: evaluation.ngramOrder). */
export interface NgramOptions {
  /** 0: no n-gram baseline. */
  readonly order: number;
  readonly maxContexts: number;
  /** Keys that keep an n-gram context (state.maxKeys, as for the network). */
  readonly maxKeys: number;
}

/** Every processed step is trained once, or counted here with the reason it was not. */
export interface TrainingReport {
  /** Training steps (batches of key windows) taken. */
  trainSteps: number;
  /** Steps still pending when the input ended, trained then by one last, shorter window per key. */
  endOfInputSteps: number;
  /** Steps never trained, by reason. */
  untrainedSteps: number;
  untrained: {
    /** Their key was evicted (state.ttlMs or state.maxKeys) before its next training step. */
    evicted: number;
    /**
     * classify: steps of sequences longer than the eos window (about task.maxSequenceSteps) before
     * its start: no gradient reaches them.
     */
    beyondMaxSequenceSteps: number;
    /**
     * classify, and bidirectional segments: steps of sequences whose eos had not come at the end
     * (a bidirectional model predicts none of them either).
     */
    withoutEos: number;
    /**
     * model.bidirectional only: buffered steps dropped with a segment that grew beyond
     * task.maxSequenceSteps (its later events were refused as bad records).
     */
    segmentOverflow?: number;
  };
}

const RECENT_WINDOW = 20_000;

/** Accumulates prequential scores from predictions as they are emitted. */
export class PrequentialSummary {
  private readonly task: TaskType;
  private readonly startedMs = Date.now();
  private readonly keys = new Set<string>();
  private readonly labelIds = new Map<string, number>();
  /** The label of each id, in id order. */
  private readonly labelValues: Array<string | number> = [];
  private events = 0;
  private skipped = 0;
  private paramVersion = 0;
  private readonly bits = new BitsPerToken();
  private readonly recentBits = new BitsPerToken({ windowSize: RECENT_WINDOW });
  private readonly classes = new ClassificationMetrics();
  private readonly recentClasses = new ClassificationMetrics({ windowSize: RECENT_WINDOW });
  private readonly majority = new MajorityClassBaseline();
  private readonly forecasts: ForecastScores;
  private readonly recentSquaredError = new MeanSquaredError({ windowSize: RECENT_WINDOW });
  private readonly ngram: NgramBaseline | undefined;
  private readonly vocabSize: number;
  private readonly oovId: number | undefined;
  private oovTargets = 0;

  constructor({
    task,
    vocabSize = 256,
    ngram,
    horizon = 1,
    oovId,
  }: {
    /** lm with a words vocabulary: the out-of-vocabulary id, whose share of targets is reported. */
    oovId?: number | undefined;
    task: TaskType;
    vocabSize?: number;
    /** lm only; absent or order 0: no n-gram baseline. */
    ngram?: NgramOptions | undefined;
    /** forecast: task.horizon, the vectors each prediction line carries. */
    horizon?: number;
  }) {
    this.task = task;
    this.vocabSize = vocabSize;
    this.oovId = oovId;
    this.forecasts = new ForecastScores({ horizon });
    if (task === 'lm' && ngram !== undefined && ngram.order > 0)
      this.ngram = new NgramBaseline({ ...ngram, vocabSize, windowSize: RECENT_WINDOW });
  }

  skip(): void {
    this.skipped++;
  }

  /**
   * Scores one prediction. `token` is the id of the event's token (lm: the token predicted), which
   * the n-gram baseline predicts and then counts.
   */
  observe(p: Prediction, token?: number): void {
    this.events++;
    this.keys.add(p.key);
    this.paramVersion = p.paramVersion;
    if (p.bits !== undefined) {
      const nats = p.bits * Math.LN2;
      this.bits.observe(nats);
      this.recentBits.observe(nats);
    }
    if (this.oovId !== undefined && token === this.oovId) this.oovTargets++;
    if (this.ngram !== undefined && token !== undefined)
      this.ngram.observe(p.key, token, { eos: p.eos ?? false });
    if ((this.task === 'tag' || this.task === 'classify') && p.actual !== undefined) {
      const actual = this.idOf(p.actual as string | number);
      const predicted = p.label === undefined ? undefined : this.idOf(p.label);
      this.classes.observe(predicted, actual);
      this.recentClasses.observe(predicted, actual);
      this.majority.observe(actual);
    }
    if (p.forecast !== undefined && Array.isArray(p.actual)) {
      const actual = p.actual as readonly number[];
      this.forecasts.observe({
        key: p.key,
        forecasts: p.forecasts ?? [p.forecast],
        actual,
        eos: p.eos ?? false,
      });
      const present = actual.flatMap((x, i) => (Number.isNaN(x) ? [] : [i]));
      if (present.length > 0)
        this.recentSquaredError.observe(
          present.map((i) => p.forecast![i]!),
          present.map((i) => actual[i]!),
        );
    }
  }

  snapshot(): RunSummary {
    const seconds = (Date.now() - this.startedMs) / 1000;
    const summary: RunSummary = {
      events: this.events,
      keys: this.keys.size,
      skipped: this.skipped,
      tokensPerSecond: seconds > 0 ? this.events / seconds : 0,
      metrics: {},
      recent: {},
      baselines: {},
      paramVersion: this.paramVersion,
      seconds,
      liveTensors: tf.memory().numTensors,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
    if (this.task === 'lm') {
      summary.metrics.bitsPerToken = this.bits.bitsPerToken;
      summary.recent.bitsPerToken = this.recentBits.bitsPerToken;
      summary.baselines.bitsPerToken = uniformBitsPerToken(this.vocabSize);
      if (this.oovId !== undefined)
        summary.metrics.oovRate = this.events > 0 ? this.oovTargets / this.events : 0;
      if (this.ngram !== undefined) summary.baselines.ngram = ngramReport(this.ngram);
    } else if (this.task === 'forecast') {
      const perHorizon = this.forecasts.perHorizon();
      const next = perHorizon[0]!;
      summary.metrics.mse = next.mse;
      summary.metrics.mae = next.mae;
      summary.metrics.mase = next.mase;
      summary.metrics.perHorizon = perHorizon;
      summary.recent.mse = this.recentSquaredError.mse;
      summary.baselines.mse = next.lastValueMse;
      summary.baselines.mae = next.lastValueMae;
      summary.baselines.runningMeanMse = next.runningMeanMse;
    } else {
      summary.metrics.accuracy = this.classes.accuracy;
      summary.metrics.macroF1 = this.classes.macroF1;
      summary.metrics.perClass = this.perClassTable();
      summary.recent.accuracy = this.recentClasses.accuracy;
      summary.baselines.accuracy = this.majority.accuracy;
      summary.baselines.macroF1 = this.majority.macroF1;
    }
    return summary;
  }

  private idOf(label: string | number): number {
    const k = JSON.stringify(label);
    let id = this.labelIds.get(k);
    if (id === undefined) {
      this.labelIds.set(k, (id = this.labelIds.size));
      this.labelValues.push(label);
    }
    return id;
  }

  /**
   * The per-class scores keyed by label text: a string label as it is, a number in decimal. If a
   * string and a number read the same (`"3"` and `3`), both are keyed by their JSON text
   * (`"\"3\""` and `"3"`) so that neither row hides the other.
   */
  private perClassTable(): Record<string, ClassScores> {
    const texts = this.labelValues.map((label) => String(label));
    const clashes = new Set(texts.filter((t, i) => texts.indexOf(t) !== i));
    const table: Record<string, ClassScores> = {};
    for (const [id, scores] of this.classes.classScores()) {
      const text = texts[id]!;
      table[clashes.has(text) ? JSON.stringify(this.labelValues[id]) : text] = scores;
    }
    return table;
  }
}

function ngramReport(ngram: NgramBaseline): NgramReport {
  return {
    order: ngram.order,
    bitsPerToken: ngram.bitsPerToken,
    recentBitsPerToken: ngram.recentBitsPerToken,
    contexts: ngram.contexts,
    maxContexts: ngram.maxContexts,
    contextsDropped: ngram.contextsDropped,
  };
}
