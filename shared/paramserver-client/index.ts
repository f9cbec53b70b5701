/**
 * The workers' side of the parameter service (docs/design.md §6), and the record format of the
 * `<app>.params` and `<app>.gradients` topics both sides share:
 *
 *   gradientRecords({ gradient, encoding, maxChunkBytes })  GradientChunk records, key = worker id
 *   followParams({ client, app, modelId, onVersion })        newest versions from `<app>.params`
 *   applyParams(params, decoded)                              a version into a model's ParameterSet
 *   PublishedParams.follow({ client, app, model, waitMs })    the newest version, applied between batches
 *   paramRecords / paramTombstones, paramChunkKey             a version's records (the server writes them)
 */
export { applyParams } from './apply-params.js';
export { followParams, type ParamsFollower } from './follow-params.js';
export { PublishedParams } from './published-params.js';
export { gradientMessageRecords, gradientRecords } from './gradient-records.js';
export {
  checkModelId,
  DEFAULT_MODEL_ID,
  paramChunkKey,
  paramRecords,
  paramTombstones,
  parseParamChunkKey,
} from './param-records.js';
