import type { TaskType } from '../model/model-spec.js';
import type { TbpttOptions } from './tbptt-options.js';

/**
 * Where a key's training windows fall (docs/design.md §3): when the key is ready, how far back a
 * window reaches, and at which positions the state is kept because a window may start there. It
 * fixes what one key stores: `bufferSteps` steps and at most `maxWindowStarts` states.
 */
export interface WindowSchedule {
  readonly kind: 'truncated' | 'whole-sequence' | 'segment';
  /** Steps the key's ring buffer holds: every step a window can reach. */
  readonly bufferSteps: number;
  /** Most window-start states a key holds at once. */
  readonly maxWindowStarts: number;
  /** Ready for a training step, with `pending` untrained steps (`closing`: its eos was seen). */
  isReady(pending: number, closing: boolean): boolean;
  /** Whether the state after `position` steps is kept: some window may start there. */
  keepsStateAt(position: number): boolean;
  /** The earliest position a window ending at `position` may start at. */
  earliestStart(position: number): number;
  /** The latest position a window ending at `position` may start at, given its pending steps. */
  latestStart(position: number, pending: number): number;
  /** Whether steps still pending when the input ends have a loss worth one last window. */
  trainsOpenSequences: boolean;
}

/**
 * Truncated BPTT(k1, k2): ready every k1 steps (and at eos), windows of the last k2 steps that
 * include every pending step, states kept at positions p with (p + k2) mod k1 = 0 — where the
 * k2-window of a training step at a multiple of k1 starts. At eos after P steps (P not a multiple
 * of k1) the window starts at the first kept position at or after P − k2, so it spans
 * L = min(P, k2 − ((−P) mod k1)) steps.
 */
export function truncatedSchedule({ k1, k2 }: TbpttOptions): WindowSchedule {
  return {
    kind: 'truncated',
    bufferSteps: Math.max(k1, k2),
    maxWindowStarts: Math.ceil(k2 / k1) + 1,
    isReady: (pending, closing) => pending >= k1 || (closing && pending > 0),
    keepsStateAt: (position) => (((position + k2) % k1) + k1) % k1 === 0,
    earliestStart: (position) => Math.max(0, position - k2),
    latestStart: (position, pending) => position - pending,
    trainsOpenSequences: true,
  };
}

/** task.maxSequenceSteps by default: a few thousand steps, e.g. a mail of a few KB as bytes. */
export const DEFAULT_MAX_SEQUENCE_STEPS = 4096;

/**
 * Steps one chunk of a long window back-propagates through at a time (RecurrentModel's chunked
 * back-propagation): tensor memory stays that of a 256-step window (a few tens of MB for a batch
 * of 64 keys of an LSTM 128) however long a whole classify sequence is.
 */
export const DEFAULT_CHUNK_STEPS = 256;

/**
 * Window-start states one whole sequence keeps at most, besides the carried state: the stride
 * between kept states is ceil(maxSteps / WHOLE_SEQUENCE_STARTS), so the eos window loses at most
 * that fraction of the cap to the stride, for a few states per key instead of one per step.
 */
export const WHOLE_SEQUENCE_STARTS = 8;

/**
 * Whole-sequence BPTT for `classify`, whose only target is at eos: no training before eos (the
 * other steps carry no loss), then one window back to the sequence start — or, past the cap, to
 * the first kept state at or after P − maxSteps. States are kept every
 * s = ceil(maxSteps / WHOLE_SEQUENCE_STARTS) steps, so the window spans
 * L = P for P ≤ maxSteps, else L = maxSteps − ((maxSteps − P) mod s) ∈ (maxSteps − s, maxSteps].
 */
export function wholeSequenceSchedule({ maxSteps }: { maxSteps: number }): WindowSchedule {
  const stride = Math.ceil(maxSteps / WHOLE_SEQUENCE_STARTS);
  return {
    kind: 'whole-sequence',
    bufferSteps: maxSteps,
    maxWindowStarts: Math.floor(maxSteps / stride) + 1,
    isReady: (pending, closing) => closing && pending > 0,
    keepsStateAt: (position) => position % stride === 0,
    earliestStart: (position) => Math.max(0, position - maxSteps),
    // Pending steps before the window have no loss (only the eos step has one).
    latestStart: (position) => position - 1,
    trainsOpenSequences: false,
  };
}

/**
 * Segments of a bidirectional model (docs/design.md, "Bidirectional encoders on segments"): no
 * prediction and no training before eos, then the whole segment is one window from position 0.
 * Nothing is carried from step to step, so no window-start state is kept. A segment holds at most
 * maxSteps steps: the learner refuses a step beyond (a dead letter), it never truncates one.
 */
export function segmentSchedule({ maxSteps }: { maxSteps: number }): WindowSchedule {
  return {
    kind: 'segment',
    bufferSteps: maxSteps,
    maxWindowStarts: 0,
    isReady: (pending, closing) => closing && pending > 0,
    keepsStateAt: () => false,
    earliestStart: () => 0,
    latestStart: () => 0,
    trainsOpenSequences: false,
  };
}

/**
 * The schedule of a task: segments for a bidirectional model, whole sequences for `classify`,
 * truncated BPTT(k1, k2) otherwise.
 */
export function windowScheduleFor(
  task: TaskType,
  {
    k1,
    k2,
    maxSequenceSteps,
    bidirectional = false,
  }: TbpttOptions & { maxSequenceSteps: number; bidirectional?: boolean | undefined },
): WindowSchedule {
  if (bidirectional) return segmentSchedule({ maxSteps: maxSequenceSteps });
  return task === 'classify'
    ? wholeSequenceSchedule({ maxSteps: maxSequenceSteps })
    : truncatedSchedule({ k1, k2 });
}
