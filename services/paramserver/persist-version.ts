import type { GradientId } from '../../shared/codec/param-codec.js';
import type { ParamsSpec } from '../../shared/model/params-spec.js';
import type {
  CheckpointStore,
  GradientPosition,
  ParameterServerState,
} from '../../shared/paramserver/index.js';
import type { ParamsPublisher } from './params-publisher.js';

/**
 * Makes a version durable, then visible: the checkpoint (when there is a directory) is written
 * while the version's chunks go out in an open transaction, and the transaction — chunks plus
 * the gradient resume offsets — commits only once the checkpoint is on disk. A crash before the
 * commit leaves the version unpublished (a restart publishes it from the checkpoint); after the
 * commit, the checkpoint already holds it. Either way no version is skipped or published twice.
 */
export async function persistAndPublish({
  state,
  applied,
  gradientOffsets,
  modelId,
  spec,
  checkpoints,
  publisher,
  publish = true,
}: {
  state: ParameterServerState;
  /** The gradients the version applied (none when it is re-published from a checkpoint). */
  applied?: readonly GradientId[] | undefined;
  gradientOffsets: readonly GradientPosition[];
  modelId: string;
  spec: ParamsSpec;
  /** Where the version is made durable; none: published only (restarts are not exact). */
  checkpoints: CheckpointStore | undefined;
  publisher: ParamsPublisher;
  publish?: boolean;
}): Promise<{ paramBytes: number; checkpointBytes: number }> {
  const durable =
    checkpoints === undefined
      ? Promise.resolve({ bytes: 0 })
      : checkpoints.write({
          ...state,
          modelId,
          spec,
          gradientOffsets,
          writtenAtMs: Date.now(),
        });
  durable.catch(() => {}); // awaited below; publish() aborts its transaction if it rejects
  const published = publish
    ? publisher.publish({
        version: state.version,
        tensors: new Map(state.params.map((p) => [p.name, { shape: p.shape, data: p.values }])),
        applied,
        vocabulary: state.vocabulary?.vocabulary.words,
        gradientOffsets,
        durable,
      })
    : Promise.resolve({ bytes: 0 });
  // Both settle before returning, so a failed checkpoint never leaves a transaction half-aborted.
  const [written, sent] = await Promise.allSettled([durable, published]);
  if (written.status === 'rejected') throw written.reason;
  if (sent.status === 'rejected') throw sent.reason;
  return { paramBytes: sent.value.bytes, checkpointBytes: written.value.bytes };
}
