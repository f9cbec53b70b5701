import type { KeySequence } from '../tbptt/key-sequence.js';
import type { StepRecord } from '../tbptt/step-record.js';
import type { Standardizer } from './event-encoder.js';

/**
 * The learner's side of the residual forecast head (docs/model-math.md, "Forecast head"). The
 * head's output for horizon step h and feature f is the change from the key's last observed
 * value, in the unit of the change statistics:
 *
 *   forecast[h][f] = base[f] + output[h][f] · scale(h, f)
 *
 * so an untrained head (output 0) forecasts the last value. Everything here runs in event order,
 * one event at a time: a forecast is read with the statistics of the events before it, and an
 * event's values update them only afterwards.
 */

/**
 * A forecast step as the ring buffer first stores it: the previous event's standardised
 * features as input, and no target yet — its H targets arrive with this and the next H - 1 events.
 */
export function forecastStepRecord(
  sequence: KeySequence,
  { featureSize, horizon }: { featureSize: number; horizon: number },
): StepRecord {
  const width = horizon * featureSize;
  return {
    inputFeatures: sequence.previousFeatures ?? new Float32Array(featureSize),
    regressionTarget: new Float32Array(width),
    targetMask: new Uint8Array(width),
    hasLoss: true,
  };
}

/**
 * The H forecast vectors, in original units, of a step's head output `outputs[offset, offset +
 * H·F)`. Call before the step's event is observed. A feature the key has not shown yet is forecast
 * from the running mean of all keys.
 */
export function readForecasts({
  sequence,
  outputs,
  offset,
  normalizer,
}: {
  sequence: KeySequence;
  outputs: Float32Array;
  offset: number;
  normalizer: Standardizer;
}): number[][] {
  const memory = sequence.forecast!;
  const { horizon, featureSize: F } = memory;
  const forecasts: number[][] = [];
  for (let h = 1; h <= horizon; h++) {
    const row = new Array<number>(F);
    for (let f = 0; f < F; f++) {
      const last = memory.lastTarget[f]!;
      const base = Number.isNaN(last) ? normalizer.meanOf(f) : last;
      row[f] = base + outputs[offset + (h - 1) * F + f]! * normalizer.changes.scale(h, f);
    }
    forecasts.push(row);
  }
  return forecasts;
}

/**
 * Learns what a forecast event tells, after its step has been advanced: its target values are
 * the horizon-h targets of the key's last H steps (h = 1: this step), each the change from that
 * step's base in the unit of the change statistics, which then take the change in; the event's
 * values become the key's last values; its standardised features, a missing one carried forward
 * from the previous input (0, the mean, before the first), are the next step's input.
 */
export function observeForecastEvent({
  sequence,
  target,
  features,
  normalizer,
}: {
  sequence: KeySequence;
  target: ArrayLike<number>;
  features: ArrayLike<number>;
  normalizer: Standardizer;
}): void {
  const memory = sequence.forecast!;
  const { horizon, featureSize: F } = memory;
  const newest = sequence.position - 1;
  memory.recordBase(newest);
  for (let h = 1; h <= horizon && newest - (h - 1) >= 0; h++) {
    const step = newest - (h - 1);
    for (let f = 0; f < F; f++) {
      const base = memory.baseOf(step, f);
      const value = target[f]!;
      if (Number.isNaN(base) || Number.isNaN(value)) continue; // nothing to measure: no loss
      const change = value - base;
      sequence.buffer.setTarget(h - 1, h, f, change / normalizer.changes.scale(h, f));
      normalizer.changes.observe(h, f, change);
    }
  }
  memory.observe(target);
  const input = normalizer.normalize(features);
  const previous = sequence.previousFeatures;
  for (let f = 0; f < F; f++) if (Number.isNaN(input[f]!)) input[f] = previous?.[f] ?? 0;
  sequence.previousFeatures = input;
  normalizer.observe(features);
}
