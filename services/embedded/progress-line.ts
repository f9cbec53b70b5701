import type { RunSummary } from './prequential-summary.js';

/** One human line per progress tick: rate, volume and the task's running score. */
export function formatProgress(s: RunSummary, startedMs: number): string {
  const elapsed = (Date.now() - startedMs) / 1000;
  const parts = [
    `${s.events} events`,
    `${Math.round(s.tokensPerSecond)} events/s`,
    `${s.keys} keys`,
    `v${s.paramVersion}`,
  ];
  if (s.recent.bitsPerToken !== undefined)
    parts.push(`running ${s.recent.bitsPerToken.toFixed(3)} bits/token`);
  // The classical model over the same recent tokens: is the network ahead of it yet?
  const ngram = s.baselines.ngram;
  if (ngram !== undefined)
    parts.push(`${ngram.order}-gram ${ngram.recentBitsPerToken.toFixed(3)} bits/token`);
  if (s.recent.accuracy !== undefined)
    parts.push(`running accuracy ${(100 * s.recent.accuracy).toFixed(1)}%`);
  if (s.recent.mse !== undefined) parts.push(`running MSE ${s.recent.mse.toPrecision(4)}`);
  // seq2seq: the figures of every pair so far (there is no recent window).
  if (s.metrics.exactMatch !== undefined)
    parts.push(
      `exact match ${(100 * s.metrics.exactMatch).toFixed(1)}%`,
      `token error rate ${(100 * (s.metrics.tokenErrorRate ?? NaN)).toFixed(1)}%`,
      `${(s.metrics.bitsPerToken ?? NaN).toFixed(3)} bits/token`,
    );
  if (s.skipped > 0) parts.push(`${s.skipped} skipped`);
  parts.push(`${s.liveTensors} tensors`, `${s.rssMiB} MiB`);
  parts.push(`${elapsed.toFixed(0)} s`);
  return parts.join(' · ');
}
