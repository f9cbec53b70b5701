import type { Config } from '../config/index.js';
import { modelSpecFromConfig } from '../config/index.js';
import {
  createTokenizer,
  FeatureNormalizer,
  LabelRegistry,
  type Tokenizer,
} from '../events/index.js';
import type { ModelSpec } from '../model/model-spec.js';
import { createRng } from '../model/random.js';
import { RecurrentModel } from '../model/recurrent-model.js';
import { parameterServerOptionsFromConfig } from '../paramserver/parameter-server.js';
import type { EvictionReason } from '../tbptt/key-store.js';
import type { KeySequence } from '../tbptt/key-sequence.js';
import { TbpttTrainer, type TrainStepResult } from '../tbptt/tbptt-trainer.js';
import { InProcessParameterService } from './in-process-parameter-service.js';
import { StreamLearner } from './stream-learner.js';

export interface EmbeddedLearner {
  readonly spec: ModelSpec;
  readonly model: RecurrentModel;
  readonly learner: StreamLearner;
  readonly tokenizer: Tokenizer;
  readonly labels: LabelRegistry;
  readonly normalizer: FeatureNormalizer;
  readonly parameterService: InProcessParameterService | undefined;
  dispose(): void;
}

/**
 * Wires a learner from a validated config: model, tokenizer, label registry, normaliser and —
 * unless training is off — a TBPTT trainer whose gradients go to an in-process parameter
 * service (average → clip → optimizer). The Kafka worker swaps that sink for the gradients topic.
 */
export function createEmbeddedLearner({
  config,
  training = true,
  workerId = 'embedded',
  onTrainStep,
  onEvict,
  now,
}: {
  config: Config;
  training?: boolean;
  workerId?: string;
  onTrainStep?: (result: TrainStepResult) => void;
  onEvict?: (key: KeySequence, reason: EvictionReason) => void;
  now?: () => number;
}): EmbeddedLearner {
  const spec = modelSpecFromConfig(config);
  const model = RecurrentModel.create({ spec, seed: config.seed });
  const tokenizer = createTokenizer({
    kind: config.input.tokenizer,
    vocabSize: config.input.vocabSize,
  });
  const labels = new LabelRegistry({
    labels: config.task.labels as Array<string | number> | undefined,
    maxLabels: config.task.maxLabels,
  });
  const normalizer = new FeatureNormalizer({
    featureSize: config.input.featureSize,
    enabled: config.input.normalize,
  });
  const parameterService = training
    ? new InProcessParameterService({ model, options: parameterServerOptionsFromConfig(config) })
    : undefined;
  const trainer = parameterService
    ? new TbpttTrainer({ model, sink: parameterService, rng: createRng(config.seed + 1), workerId })
    : undefined;
  const learner = new StreamLearner({
    model,
    trainer,
    tokens: tokenizer,
    labels,
    normalizer,
    k1: config.tbptt.k1,
    k2: config.tbptt.k2,
    maxKeysPerStep: config.tbptt.maxKeys,
    maxWaitMs: config.tbptt.maxWaitMs,
    ttlMs: config.state.ttlMs,
    maxKeys: config.state.maxKeys,
    onTrainStep,
    onEvict,
    now,
  });
  return {
    spec,
    model,
    learner,
    tokenizer,
    labels,
    normalizer,
    parameterService,
    dispose() {
      model.dispose();
    },
  };
}
