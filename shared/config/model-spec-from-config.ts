import { ConfigError } from '../errors/index.js';
import type { ModelSpec } from '../model/model-spec.js';
import type { Config } from './config-schema.js';

/**
 * The shapes and mathematics the configuration asks for (docs/model-math.md). The head's size is
 * V for lm, K for tag/classify (declared labels, else room for maxLabels discovered ones), H·F for
 * forecast (F features for each of the H horizon steps).
 */
export function modelSpecFromConfig(config: Config): ModelSpec {
  const { task, input, model } = config;
  if (task.type === 'seq2seq')
    throw new ConfigError(
      'task.type "seq2seq" is learned by `rnnstream run --embedded` (and decoded offline by `rnnstream transduce`); the worker, paramserver and decoder services do not serve it yet (fix: run it embedded, or use another task type with the services)',
    );
  const outputSize =
    task.type === 'lm'
      ? input.vocabSize
      : task.type === 'forecast'
        ? task.horizon * input.featureSize
        : (task.labels?.length ?? task.maxLabels);
  return {
    task: task.type,
    inputKind: input.kind,
    vocabSize: input.vocabSize,
    featureSize: input.featureSize,
    horizon: task.type === 'forecast' ? task.horizon : 1,
    outputSize,
    cell: model.cell,
    layers: model.layers,
    hidden: model.hidden,
    embedding: model.embedding,
    peepholes: model.peepholes,
    coupledGates: model.coupledGates,
    dropout: model.dropout,
    recurrentDropout: model.recurrentDropout,
    ...(model.bidirectional ? { bidirectional: true } : {}),
    // Absent (not undefined) without a convolution: the spec, and files that store it, stay as before.
    ...(model.conv.kernelWidth > 0 ? { conv: { ...model.conv } } : {}),
  };
}
