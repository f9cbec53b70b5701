/**
 * Online sequence-to-sequence learning on a stream of pairs (docs/design.md, "Sequence to
 * sequence"). Pairs are taken in input order, `batchPairs` at a time; each is first predicted
 * with the parameters in force (prequential: the teacher-forced cost of its target and a decoded
 * hypothesis), then one training step learns from the batch by teacher forcing and hands its
 * gradient to the sink. A pair is complete in itself: no state is carried from one pair to the
 * next, per key or otherwise; keys only partition the stream.
 */
import type { Tokenizer } from '../../events/index.js';
import type { Prediction } from '../../events/prediction.js';
import { transduce, type TransductionStrategy } from '../../decoding/transduce.js';
import { TransductionScores } from '../../evaluation/transduction-scores.js';
import { pairBatch } from '../../model/seq2seq/pair-batch.js';
import type { Seq2seqModel } from '../../model/seq2seq/seq2seq-model.js';
import type { GradientSink } from '../../tbptt/gradient-sink.js';
import type { EncodedPair } from './pair-encoder.js';

export interface Seq2seqTrainStep {
  readonly pairs: number;
  readonly lossSum: number;
  /** Target steps (tokens and ends) the loss averages. */
  readonly tokens: number;
}

export class Seq2seqLearner {
  readonly model: Seq2seqModel;
  /** Every pair's figures since the start. */
  readonly scores = new TransductionScores();
  private readonly targetTokens: Tokenizer;
  private readonly sink: GradientSink | undefined;
  private readonly workerId: string;
  private readonly strategy: TransductionStrategy;
  private readonly maxTargetLength: number;
  /** Pairs per training step (seq2seq.batchPairs). */
  readonly batchPairs: number;
  private readonly onTrainStep: ((step: Seq2seqTrainStep) => void) | undefined;
  /** Training steps taken (the step number of the next gradient). */
  steps = 0;

  constructor(options: {
    model: Seq2seqModel;
    targetTokens: Tokenizer;
    /** Absent: predict only. */
    sink?: GradientSink | undefined;
    workerId?: string;
    strategy: TransductionStrategy;
    maxTargetLength: number;
    batchPairs: number;
    onTrainStep?: ((step: Seq2seqTrainStep) => void) | undefined;
  }) {
    this.model = options.model;
    this.targetTokens = options.targetTokens;
    this.sink = options.sink;
    this.workerId = options.workerId ?? 'embedded';
    this.strategy = options.strategy;
    this.maxTargetLength = options.maxTargetLength;
    this.batchPairs = options.batchPairs;
    this.onTrainStep = options.onTrainStep;
  }

  /** One prediction per pair, in order; each made before any step that learns from it. */
  async process(pairs: readonly EncodedPair[]): Promise<Prediction[]> {
    const predictions: Prediction[] = [];
    for (let from = 0; from < pairs.length; from += this.batchPairs) {
      const batch = pairs.slice(from, from + this.batchPairs);
      predictions.push(...this.predict(batch));
      if (this.sink) await this.train(batch);
    }
    return predictions;
  }

  private predict(pairs: readonly EncodedPair[]): Prediction[] {
    const { model } = this;
    const batch = pairBatch(model.spec, pairs);
    const losses = model.stepLosses(batch);
    const hypotheses = transduce({
      model,
      sources: pairs.map((p) => p.source),
      strategy: this.strategy,
      maxTargetLength: this.maxTargetLength,
    });
    return pairs.map((pair, b) => {
      let nats = 0;
      for (let t = 0; t < batch.targetSteps; t++) nats += losses[b * batch.targetSteps + t]!;
      const bits = nats / Math.LN2;
      const best = hypotheses[b]![0]!;
      const { exactMatch, editDistance } = this.scores.observe({
        target: pair.target,
        hypothesis: best.tokens,
        bits,
      });
      return {
        index: pair.index,
        key: pair.key,
        ...(pair.line !== undefined ? { line: pair.line } : {}),
        task: 'seq2seq' as const,
        paramVersion: model.params.version,
        bits,
        hypothesis: best.tokens.map((id) => this.targetTokens.decode(id)),
        hypothesisLogProb: best.logProb,
        target: pair.target.map((id) => this.targetTokens.decode(id)),
        exactMatch,
        editDistance,
      };
    });
  }

  private async train(pairs: readonly EncodedPair[]): Promise<void> {
    const { lossSum, count, gradients } = this.model.lossAndGradientTensors(
      pairBatch(this.model.spec, pairs),
    );
    await this.sink!.submit({
      workerId: this.workerId,
      step: this.steps++,
      paramVersion: this.model.params.version,
      tokens: count,
      lossSum,
      gradients,
    });
    this.onTrainStep?.({ pairs: pairs.length, lossSum, tokens: count });
  }
}
