export { RunningWindow } from './running-window.js';
export { BitsPerToken } from './bits-per-token.js';
export { ClassificationMetrics, type ClassScores } from './classification-metrics.js';
export { MeanSquaredError } from './mse.js';
export { MajorityClassBaseline, NgramBaseline, uniformBitsPerToken } from './baselines.js';
export { ForecastScores, type ForecastLine, type HorizonScores } from './forecast-scores.js';
export { tallyPredictions, type PredictionTally } from './prediction-tally.js';
export { type NgramContext, WittenBellNgram } from './witten-bell-ngram.js';
export {
  editDistance,
  TransductionScores,
  type TransductionFigures,
} from './transduction-scores.js';
