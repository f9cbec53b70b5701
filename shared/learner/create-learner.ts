import type { Config } from '../config/index.js';
import { modelSpecFromConfig } from '../config/index.js';
import {
  createTokenizer,
  FeatureNormalizer,
  LabelRegistry,
  type FeatureNormalizerJson,
  type Tokenizer,
} from '../events/index.js';
import { ConstantPredictor } from '../model/constant-predictor.js';
import { horizonOf, type ModelSpec } from '../model/model-spec.js';
import { createRng } from '../model/random.js';
import { RecurrentModel } from '../model/recurrent-model.js';
import type { GradientSink } from '../tbptt/gradient-sink.js';
import type { KeySequence } from '../tbptt/key-sequence.js';
import type { EvictionReason } from '../tbptt/key-store.js';
import { TbpttTrainer, type TrainStepResult } from '../tbptt/tbptt-trainer.js';
import { WordsTokenizer } from '../vocabulary/words-tokenizer.js';
import { StreamLearner } from './stream-learner.js';

export interface LearnerOptions {
  readonly config: Config;
  /**
   * Where training gradients go, given the model they are computed on: embedded runs an
   * in-process parameter service, a worker the batch's pending gradients. Absent: no training.
   */
  readonly gradientSink?:
    ((model: RecurrentModel, tokenizer: Tokenizer) => GradientSink) | undefined;
  /** The trainer's id in its gradients (the parameter service deduplicates by id and step). */
  readonly workerId?: string;
  /** Benchmarks of the data plane: a constant predictor stands in for the network. */
  readonly stubModel?: boolean;
  readonly onTrainStep?: (result: TrainStepResult) => void;
  readonly now?: () => number;
}

/** The parts every key space of one process shares: one model, one trainer, one vocabulary. */
export interface Learner {
  readonly spec: ModelSpec;
  readonly model: RecurrentModel;
  readonly tokenizer: Tokenizer;
  readonly labels: LabelRegistry;
  readonly trainer: TbpttTrainer | undefined;
  /**
   * A key space over the shared model: its own key store and feature normaliser (fresh, or from
   * the statistics it saved). An embedded run opens one, a worker one per owned partition.
   */
  openKeySpace(options?: {
    savedNormalizer?: FeatureNormalizerJson | undefined;
    onEvict?: ((key: KeySequence, reason: EvictionReason) => void) | undefined;
  }): KeySpace;
  dispose(): void;
}

export interface KeySpace {
  readonly learner: StreamLearner;
  readonly normalizer: FeatureNormalizer;
}

/**
 * The one place a learner is wired from a validated config — model, tokenizer, label registry,
 * TBPTT trainer, and per key space a StreamLearner with its normaliser — so embedded runs and
 * workers learn by the same rules and differ only in where gradients go.
 */
export function createLearner({
  config,
  gradientSink,
  workerId = 'embedded',
  stubModel = false,
  onTrainStep,
  now,
}: LearnerOptions): Learner {
  const spec = modelSpecFromConfig(config);
  const model = RecurrentModel.create({ spec, seed: config.seed });
  const predictor = stubModel ? new ConstantPredictor({ spec, stateSize: model.stateSize }) : model;
  const tokenizer = createTokenizer({
    kind: config.input.tokenizer,
    vocabSize: config.input.vocabSize,
    words: config.input,
  });
  const labels = new LabelRegistry({
    labels: config.task.labels as Array<string | number> | undefined,
    maxLabels: config.task.maxLabels,
  });
  const trainer = gradientSink
    ? new TbpttTrainer({
        model,
        sink: withWordCounts(gradientSink(model, tokenizer), tokenizer),
        rng: createRng(config.seed + 1),
        workerId,
        chunkSteps: config.tbptt.chunkSteps,
      })
    : undefined;
  return {
    spec,
    model,
    tokenizer,
    labels,
    trainer,
    openKeySpace({ savedNormalizer, onEvict } = {}) {
      const horizon = horizonOf(spec);
      const normalizer = savedNormalizer
        ? FeatureNormalizer.fromJSON(savedNormalizer, { horizon })
        : new FeatureNormalizer({
            featureSize: config.input.featureSize,
            enabled: config.input.normalize,
            horizon,
          });
      const learner = new StreamLearner({
        model: predictor,
        trainer,
        tokens: tokenizer,
        labels,
        normalizer,
        k1: config.tbptt.k1,
        k2: config.tbptt.k2,
        maxSequenceSteps: config.task.maxSequenceSteps,
        maxKeysPerStep: config.tbptt.maxKeys,
        maxWaitMs: config.tbptt.maxWaitMs,
        ttlMs: config.state.ttlMs,
        maxKeys: config.state.maxKeys,
        now,
        onEvict,
        onTrainStep,
      });
      return { learner, normalizer };
    },
    dispose() {
      model.dispose();
    },
  };
}

/** input.tokenizer "words": every gradient carries the words read without an id since the last one. */
function withWordCounts(sink: GradientSink, tokenizer: Tokenizer): GradientSink {
  if (!(tokenizer instanceof WordsTokenizer)) return sink;
  return {
    submit: (gradient) => sink.submit({ ...gradient, wordCounts: tokenizer.takeUnseen() }),
  };
}
