import { LabelRegistry, createTokenizer, FeatureNormalizer } from '../../shared/events/index.js';
import { encodeEvent, type EncodedEvent } from '../../shared/learner/event-encoder.js';
import { StreamLearner } from '../../shared/learner/stream-learner.js';
import type { ModelSpec } from '../../shared/model/model-spec.js';
import { createRng } from '../../shared/model/random.js';
import { RecurrentModel } from '../../shared/model/recurrent-model.js';
import type { GradientSink } from '../../shared/tbptt/gradient-sink.js';
import { TbpttTrainer } from '../../shared/tbptt/tbptt-trainer.js';

/** A small byte-vocabulary LM spec for engine tests. */
export function tinyLmSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return {
    task: 'lm',
    inputKind: 'tokens',
    vocabSize: 8,
    featureSize: 1,
    outputSize: 8,
    cell: 'lstm',
    layers: 1,
    hidden: 6,
    embedding: 4,
    peepholes: false,
    coupledGates: false,
    dropout: 0,
    recurrentDropout: 0,
    ...overrides,
  };
}

/** A StreamLearner around a fresh seeded model; with a sink it trains (sending gradients there). */
export function tinyLearner({
  spec,
  k1,
  k2,
  sink,
  maxKeysPerStep = 64,
  seed = 7,
  maxWaitMs = Number.MAX_SAFE_INTEGER,
  now,
}: {
  spec: ModelSpec;
  k1: number;
  k2: number;
  sink?: GradientSink;
  maxKeysPerStep?: number;
  seed?: number;
  maxWaitMs?: number;
  now?: () => number;
}) {
  const model = RecurrentModel.create({ spec, seed });
  const tokens = createTokenizer({ kind: 'ids', vocabSize: spec.vocabSize });
  const labels = new LabelRegistry({ maxLabels: Math.max(1, spec.outputSize) });
  const normalizer = new FeatureNormalizer({
    featureSize: Math.max(1, spec.featureSize),
    enabled: false,
  });
  const trainer = sink
    ? new TbpttTrainer({ model, sink, rng: createRng(1), workerId: 'test' })
    : undefined;
  const learner = new StreamLearner({
    model,
    trainer,
    tokens,
    labels,
    normalizer,
    k1,
    k2,
    maxKeysPerStep,
    maxWaitMs,
    now,
    ttlMs: Number.MAX_SAFE_INTEGER,
    maxKeys: 1_000_000,
  });
  let index = 0;
  const encode = (events: Array<{ key: string; token: number; eos?: boolean }>): EncodedEvent[] =>
    events.map((e) =>
      encodeEvent({
        event: { key: e.key, token: e.token, eos: e.eos ?? false },
        index: index++,
        spec,
        tokens,
        labels,
        normalizer,
      }),
    );
  return { model, learner, encode };
}
