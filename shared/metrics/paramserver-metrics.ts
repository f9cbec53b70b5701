import type { Registry } from 'prom-client';
import { counter, gauge, histogram, registerFamilies } from './families.js';

/** Why a GradientChunk record could not be used (logged with the reason; never fatal). */
export const CHUNK_REJECTIONS = [
  'undecodable',
  'corrupt',
  'duplicate',
  'mismatch',
  'invalid',
] as const;
export type ChunkRejection = (typeof CHUNK_REJECTIONS)[number];

/**
 * Why a gradient was not applied: `stale` (computed more than `paramserver.staleness` versions
 * ago), `future` (on a version not yet published: another paramserver's parameters), `invalid`
 * (parameter names or sizes not the model's, no tokens, or non-finite values).
 */
export const DROP_REASONS = ['stale', 'future', 'invalid'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What closed a round: sync rounds close when all live workers reported or at the deadline. */
export const ROUND_TRIGGERS = ['all-live', 'deadline', 'arrival'] as const;

/** The parameter service's metric families (`rnnstream paramserver --metrics-port`), one row each. */
export const PARAMSERVER_FAMILIES = {
  gradientsReceived: counter({
    name: 'rnnstream_paramserver_gradients_received_total',
    help: 'Complete gradients reassembled from the gradients topic, before deduplication and the staleness check.',
  }),
  gradientsDropped: counter({
    name: 'rnnstream_paramserver_gradients_dropped_total',
    help: 'Gradients dropped without being applied, by reason: stale (beyond the staleness bound), future (version not published yet), invalid (wrong parameters, no tokens, non-finite values).',
    labels: { name: 'reason', values: DROP_REASONS },
  }),
  gradientsDeduplicated: counter({
    name: 'rnnstream_paramserver_gradients_deduplicated_total',
    help: 'Gradients skipped because their (worker, step) was already applied or is pending (retried sends, re-reads after a restart).',
  }),
  gradientStaleness: histogram({
    name: 'rnnstream_paramserver_gradient_staleness_versions',
    unit: 'versions',
    help: 'Staleness of received gradients in parameter versions (current version minus the version the gradient was computed on); stale ones included.',
    buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
  }),
  gradientChunksRejected: counter({
    name: 'rnnstream_paramserver_gradient_chunks_rejected_total',
    help: 'GradientChunk records rejected, by kind: undecodable (not a GradientChunk), corrupt (checksum), duplicate, mismatch (header differs from its set), invalid (impossible header).',
    labels: { name: 'kind', values: CHUNK_REJECTIONS },
  }),
  gradientSetsIncomplete: counter({
    name: 'rnnstream_paramserver_gradient_sets_incomplete_total',
    help: 'Gradient chunk sets dropped incomplete, by reason: expired (older than the assembler age limit) or memory (over its byte bound).',
    labels: { name: 'reason', values: ['expired', 'memory'] },
  }),
  gradientBytesReceived: counter({
    name: 'rnnstream_paramserver_gradient_bytes_received_total',
    unit: 'bytes',
    help: 'Bytes of GradientChunk record values read from the gradients topic.',
  }),
  preclipGlobalNorm: histogram({
    name: 'rnnstream_paramserver_preclip_global_norm',
    help: "Global L2 norm of each round's token-weighted average gradient, before clipping to clip.globalNorm.",
    buckets: [0.01, 0.03, 0.1, 0.3, 1, 2, 5, 10, 20, 50, 100, 1000],
  }),
  // The histogram above shows the distribution, this the latest value.
  lastPreclipGlobalNorm: gauge({
    name: 'rnnstream_paramserver_last_preclip_global_norm',
    help: 'Global L2 norm of the latest round average gradient, before clipping.',
  }),
  clipRatio: gauge({
    name: 'rnnstream_paramserver_clip_ratio',
    unit: 'ratio',
    help: 'Scale applied to the latest round average gradient by global-norm clipping (clip.globalNorm / pre-clip norm, 1 when not clipped).',
  }),
  roundDuration: histogram({
    name: 'rnnstream_paramserver_round_duration_seconds',
    unit: 'seconds',
    help: 'Seconds from closing a round to its new version being committed: average, clip, optimizer step, checkpoint and publish.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  rounds: counter({
    name: 'rnnstream_paramserver_rounds_total',
    help: 'Rounds applied, by what closed them: all-live (every live worker reported, sync), deadline (sync), arrival (async).',
    labels: { name: 'trigger', values: ROUND_TRIGGERS },
  }),
  paramVersion: gauge({
    name: 'rnnstream_paramserver_param_version',
    help: 'Latest parameter version committed to the params topic.',
  }),
  paramBytesPublished: counter({
    name: 'rnnstream_paramserver_param_bytes_published_total',
    unit: 'bytes',
    help: 'Bytes of ParamChunk record values committed to the params topic.',
  }),
  liveWorkers: gauge({
    name: 'rnnstream_paramserver_live_workers',
    help: 'Workers that sent a gradient within paramserver.workerTimeoutMs; a sync round waits for each of them.',
  }),
};

/** The parameter service's metric families, registered in `registry`. */
export function createParamserverMetrics(registry: Registry) {
  return registerFamilies(registry, PARAMSERVER_FAMILIES);
}

export type ParamserverMetrics = ReturnType<typeof createParamserverMetrics>;
