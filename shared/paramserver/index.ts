/**
 * The parameter service's core (docs/design.md §6), without Kafka: ParameterServer (rounds, dedupe,
 * update, state) with its round policies, gradient checks and worker bookkeeping, GradientIntake
 * (chunks → gradients, resume offsets) and createCheckpointStore (two slot files written by
 * turns; readCheckpoint / writeCheckpoint for one-off use). The workers' side and the topics'
 * record format are in shared/paramserver-client; services/paramserver runs this over Kafka.
 */
export {
  checkpointSlotPaths,
  createCheckpointStore,
  readCheckpoint,
  writeCheckpoint,
  type CheckpointStore,
  type InvalidCheckpointSlot,
  type ParamserverCheckpoint,
} from './checkpoint-file.js';
export { gradientProblem } from './gradient-check.js';
export {
  GradientIntake,
  type ChunkRejection,
  type GradientRecordIn,
  type IntakeResult,
} from './gradient-intake.js';
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
  asyncRoundPolicy,
  syncRoundPolicy,
  type RoundPolicy,
  type RoundTrigger,
  type RoundView,
} from './round-policy.js';
export { WorkerLiveness } from './worker-liveness.js';
export { WorkerProgress, type WorkerProgressSnapshot } from './worker-progress.js';
