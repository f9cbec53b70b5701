export type { StreamEvent } from './stream-event.js';
export type { Prediction } from './prediction.js';
export type { ParsedRecord } from './parsed-record.js';
export { parseEventObject, parseJsonLine } from './parse-event.js';
export { readJsonlEvents } from './jsonl-source.js';
export { listTextFiles, readTextEvents } from './text-source.js';
export { createTokenizer, decodeBytes, type Tokenizer, type TokenizerKind } from './tokenizer.js';
export { LabelRegistry, type LabelRegistryJson, type LabelValue } from './label-registry.js';
export { FeatureNormalizer, type FeatureNormalizerJson } from './feature-normalizer.js';
