export type {
  Config,
  InputConfig,
  KafkaConfig,
  Label,
  LimitsConfig,
  DecoderConfig,
  EvaluationConfig,
  ModelConfig,
  OptimizerConfig,
  ParamserverConfig,
  TaskConfig,
  TbpttConfig,
} from './config-schema.js';
export { ConfigSchema } from './config-schema.js';
export { defaultConfig, parseConfig } from './parse-config.js';
export { loadConfigFile } from './load-config-file.js';
export { modelSpecFromConfig, paramsSpecFromConfig } from './model-spec-from-config.js';
export { seq2seqSpecFromConfig } from './seq2seq-spec-from-config.js';
