/**
 * The parameter service (DESIGN.md §4): its logic without Kafka, its checkpoint, and the pieces
 * workers use to talk to it.
 *
 * Worker side:
 *   gradientRecords({ gradient, encoding, maxChunkBytes })  GradientChunk records, key = worker id
 *   followParams({ client, app, modelId, onVersion })        newest versions from `<app>.params`
 *   applyParams(params, decoded)                              a version into a model's ParameterSet
 *
 * Server side: ParameterServer (rounds, dedupe, update, state), GradientIntake (chunks → gradients,
 * resume offsets), createCheckpointStore (two slot files written by turns; readCheckpoint /
 * writeCheckpoint for one-off use), paramRecords / paramTombstones.
 */
export { applyParams } from './apply-params.js';
export {
  checkpointSlotPaths,
  createCheckpointStore,
  readCheckpoint,
  writeCheckpoint,
  type CheckpointStore,
  type InvalidCheckpointSlot,
  type ParamserverCheckpoint,
} from './checkpoint-file.js';
export { followParams, type ParamsFollower } from './follow-params.js';
export { gradientProblem } from './gradient-check.js';
export { GradientIntake, type GradientRecordIn, type IntakeResult } from './gradient-intake.js';
export { gradientMessageRecords, gradientRecords } from './gradient-records.js';
export {
  ParameterServer,
  parameterServerOptionsFromConfig,
  type GradientPosition,
  type IncomingGradient,
  type OfferOutcome,
  type ParameterServerOptions,
  type ParameterServerState,
  type RoundReport,
} from './parameter-server.js';
export {
  checkModelId,
  DEFAULT_MODEL_ID,
  paramChunkKey,
  paramRecords,
  paramTombstones,
  parseParamChunkKey,
} from './param-records.js';
export {
  asyncRoundPolicy,
  syncRoundPolicy,
  type RoundPolicy,
  type RoundTrigger,
  type RoundView,
} from './round-policy.js';
export { WorkerLiveness } from './worker-liveness.js';
export { WorkerProgress, type WorkerProgressSnapshot } from './worker-progress.js';
