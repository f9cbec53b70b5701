import type { Registry } from 'prom-client';

import { clipRatio } from './clip-ratio.js';
import { gradientBytesReceivedTotal } from './gradient-bytes-received.js';
import { gradientChunksRejectedTotal } from './gradient-chunks-rejected.js';
import { gradientSetsIncompleteTotal } from './gradient-sets-incomplete.js';
import { gradientStalenessVersions } from './gradient-staleness.js';
import { gradientsDeduplicatedTotal } from './gradients-deduplicated.js';
import { gradientsDroppedTotal } from './gradients-dropped.js';
import { gradientsReceivedTotal } from './gradients-received.js';
import { lastPreclipGlobalNorm } from './last-preclip-global-norm.js';
import { liveWorkers } from './live-workers.js';
import { paramBytesPublishedTotal } from './param-bytes-published.js';
import { paramVersion } from './param-version.js';
import { preclipGlobalNorm } from './preclip-global-norm.js';
import { roundDurationSeconds } from './round-duration.js';
import { roundsTotal } from './rounds.js';

export { CHUNK_REJECTIONS, type ChunkRejection } from './gradient-chunks-rejected.js';
export { DROP_REASONS, type DropReason } from './gradients-dropped.js';
export { ROUND_TRIGGERS } from './rounds.js';

/** The parameter service's metric families, registered in `registry`. */
export function createParamserverMetrics(registry: Registry) {
  return {
    gradientsReceived: gradientsReceivedTotal(registry),
    gradientsDropped: gradientsDroppedTotal(registry),
    gradientsDeduplicated: gradientsDeduplicatedTotal(registry),
    gradientStaleness: gradientStalenessVersions(registry),
    gradientChunksRejected: gradientChunksRejectedTotal(registry),
    gradientSetsIncomplete: gradientSetsIncompleteTotal(registry),
    gradientBytesReceived: gradientBytesReceivedTotal(registry),
    preclipGlobalNorm: preclipGlobalNorm(registry),
    lastPreclipGlobalNorm: lastPreclipGlobalNorm(registry),
    clipRatio: clipRatio(registry),
    roundDuration: roundDurationSeconds(registry),
    rounds: roundsTotal(registry),
    paramVersion: paramVersion(registry),
    paramBytesPublished: paramBytesPublishedTotal(registry),
    liveWorkers: liveWorkers(registry),
  };
}

export type ParamserverMetrics = ReturnType<typeof createParamserverMetrics>;
