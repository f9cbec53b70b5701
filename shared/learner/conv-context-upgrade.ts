import { convStateSize } from '../model/conv/conv-spec.js';
import { recurrentStateSize, type ModelSpec } from '../model/model-spec.js';
import type { KeySequenceSnapshot } from '../tbptt/key-sequence.js';

/**
 * A key snapshot written without a conv context — by a model without a convolutional front end,
 * or before it existed — for a model with one: its states (the carried one and every window start)
 * get an empty context appended, all zeros, which the convolution reads as zero vectors (steps
 * before the sequence start). The key then resumes with its recurrent state and the convolution
 * sees its next inputs as the start of a sequence: the rest of its stream is exact from there.
 * Any other snapshot is returned as it is (keySnapshotProblem judges it).
 */
export function withEmptyConvContext(
  snapshot: KeySequenceSnapshot,
  spec: ModelSpec,
): KeySequenceSnapshot {
  const context = convStateSize(spec);
  const recurrent = recurrentStateSize(spec);
  const short = (state: Float32Array) => state.length === recurrent;
  if (
    context === 0 ||
    !short(snapshot.state) ||
    !snapshot.windowStarts.every((s) => short(s.state))
  )
    return snapshot;
  const extend = (state: Float32Array) => {
    const out = new Float32Array(recurrent + context);
    out.set(state);
    return out;
  };
  return {
    ...snapshot,
    state: extend(snapshot.state),
    windowStarts: snapshot.windowStarts.map(({ position, state }) => ({
      position,
      state: extend(state),
    })),
  };
}
