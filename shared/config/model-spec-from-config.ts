import { ConfigError } from '../errors/index.js';
import type { ModelSpec } from '../model/model-spec.js';
import type { ParamsSpec } from '../model/params-spec.js';
import type { Config } from './config-schema.js';
import { seq2seqSpecFromConfig } from './seq2seq-spec-from-config.js';

/**
 * The shapes and mathematics the configuration asks for (docs/model-math.md). The head's size is
 * V for lm, K for tag/classify (declared labels, else room for maxLabels discovered ones), H·F for
 * forecast (F features for each of the H horizon steps).
 */
export function modelSpecFromConfig(config: Config): ModelSpec {
  const { task, input, model } = config;
  if (task.type === 'seq2seq')
    throw new ConfigError(
      'task.type "seq2seq" is an encoder–decoder learned from pairs, not a stream model: this command or code path serves lm, tag, classify and forecast models (fix: use `rnnstream transduce` / `decode transduce` for seq2seq, or seq2seqSpecFromConfig in code)',
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

/** The spec a paramserver, checkpoint or parameter file holds parameters for (either kind). */
export function paramsSpecFromConfig(config: Config): ParamsSpec {
  return config.task.type === 'seq2seq'
    ? seq2seqSpecFromConfig(config)
    : modelSpecFromConfig(config);
}
