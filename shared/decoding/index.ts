export {
  greedy,
  sampleWithTemperature,
  filteredDistribution,
  sampleFrom,
  validateSamplingOptions,
  type SamplingOptions,
} from './sampling.js';
export { primeState, type PrimeOptions, type PrimedState } from './prime.js';
export {
  generateBatch,
  generateBatchYielding,
  type BeamStrategy,
  type DecodingStrategy,
  type GenerateBatchOptions,
  type GenerationJob,
  type GenerationOutcome,
} from './batch-generation.js';
export {
  generate,
  type GenerateOptions,
  type GenerateResult,
  type GenerationStrategy,
} from './generate.js';
export {
  beamSearch,
  lengthNormalizer,
  type BeamSearchOptions,
  type BeamHypothesis,
  type BeamSearchResult,
} from './beam-search.js';
export { checkLanguageModel, type StepModel } from './step-model.js';
export {
  labelBatch,
  forecastBatch,
  type LabellingModel,
  type LabelJob,
  type LabelOutcome,
  type ForecastJob,
  type ForecastOutcome,
} from './batch-labelling.js';
export {
  replayLastSteps,
  replayableSteps,
  type ReplayableKey,
  type KeyReplay,
} from './key-replay.js';
export { labelSegments, type SegmentJob, type SegmentLabellingModel } from './segment-labelling.js';
