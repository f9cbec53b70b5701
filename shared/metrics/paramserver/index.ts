// Kept for shared/paramserver/gradient-intake.ts, whose owner moves its import to
// ../paramserver-metrics.js (or moves ChunkRejection down into shared/paramserver); then delete.
export * from '../paramserver-metrics.js';
