import type { Prediction } from '../events/prediction.js';

/**
 * Sums over a batch of prequential predictions, for counters whose rates give running figures
 * in Prometheus: bits per token = rate(bits) / rate(scored) for `lm`, accuracy = rate(correct) /
 * rate(scored) for `tag` and `classify`, MSE = rate(squaredError) / rate(scored) for `forecast`.
 */
export interface PredictionTally {
  /** Predictions whose target was known when they were scored. */
  scored: number;
  /** lm: bits the model spent on the actual tokens. */
  bits: number;
  /** tag / classify: predictions whose most likely label was the actual one; seq2seq: exact matches. */
  correct: number;
  /** forecast: sum of each prediction's mean squared error over its features (original units). */
  squaredError: number;
}

export function tallyPredictions(predictions: readonly Prediction[]): PredictionTally {
  const tally: PredictionTally = { scored: 0, bits: 0, correct: 0, squaredError: 0 };
  for (const p of predictions) {
    if (p.bits !== undefined) {
      tally.scored++;
      tally.bits += p.bits;
      // seq2seq: a pair's decoded hypothesis equals its target.
      if (p.exactMatch === true) tally.correct++;
    } else if (p.squaredError !== undefined) {
      tally.scored++;
      tally.squaredError += p.squaredError;
    } else if (p.label !== undefined && p.actual !== undefined && !Array.isArray(p.actual)) {
      tally.scored++;
      // Both are names from the learner's label registry.
      if (String(p.label) === String(p.actual)) tally.correct++;
    }
  }
  return tally;
}
