/**
 * Window kernels: a whole layer window as one tf.customGrad built from ordinary tfjs ops, with
 * a hand-written backward (./lstm-window.ts, ./gru-window.ts, ./elman-window.ts). They exist
 * for backends without TensorFlow's fused RNN kernels, where tfjs autodiff of the generic loop
 * is the bottleneck: on 'wasm' it spends per step two transposed products, ~30 small element-wise
 * ops and a copy of every saved operand. README.md in this folder has the profile.
 *
 * `runWindowLayer` takes the window kernel when
 *   - the model's window setting (../layer-kernels.ts, fixed when the model is created) is not
 *     'off';
 *   - the active backend is in WINDOW_BACKENDS ('wasm'), or the setting is 'all' (tests run the
 *     kernels on cpu this way);
 *   - the window has at least one key and one step;
 * and otherwise hands the layer to `next` (TensorFlow's fused kernels on 'tensorflow', else the
 * generic loop of ../time-loop.ts, the reference). Every cell and option is supported: LSTM
 * peepholes and coupled gates, left padding, input and recurrent dropout. The forward runs the
 * generic loop's own ops, so outputs and final states are those of the generic loop; gradients
 * agree with it to float32 round-off (test/shared/model/window-kernels.test.ts).
 */
import { tf } from '../../engine/tf.js';
import type { WindowSetting } from '../../engine/flags.js';
import { elmanCell } from '../cells/elman.js';
import { gruCell } from '../cells/gru.js';
import { lstmCell } from '../cells/lstm.js';
import type { LayerSequenceInput, LayerSequenceOutput } from '../time-loop.js';
import { elmanWindow } from './elman-window.js';
import { gruWindow } from './gru-window.js';
import { lstmWindow } from './lstm-window.js';

/** Backends on which window kernels run by default. */
export const WINDOW_BACKENDS: readonly string[] = ['wasm'];

export type WindowKernel = 'lstm' | 'gru' | 'rnn';
export type WindowSkipReason = 'disabled' | 'backend' | 'cell' | 'empty';

export interface WindowKernelStats {
  /** Layer-window runs per window kernel. */
  readonly window: Record<WindowKernel, number>;
  /** Layer-window runs handed on to the next path, by the first condition that failed. */
  readonly skipped: Record<WindowSkipReason, number>;
}

const stats = {
  window: { lstm: 0, gru: 0, rnn: 0 },
  skipped: { disabled: 0, backend: 0, cell: 0, empty: 0 },
};

export function windowKernelStats(): WindowKernelStats {
  return { window: { ...stats.window }, skipped: { ...stats.skipped } };
}

export function resetWindowKernelStats(): void {
  for (const k of Object.keys(stats.window) as WindowKernel[]) stats.window[k] = 0;
  for (const k of Object.keys(stats.skipped) as WindowSkipReason[]) stats.skipped[k] = 0;
}

const KERNELS: ReadonlyArray<
  [LayerSequenceInput['cell'], WindowKernel, (input: LayerSequenceInput) => LayerSequenceOutput]
> = [
  [lstmCell, 'lstm', lstmWindow],
  [gruCell, 'gru', gruWindow],
  [elmanCell, 'rnn', elmanWindow],
];

/** Which window kernel a layer window would take, or why it would not. */
export function windowKernelFor(
  { cell, inputs }: Pick<LayerSequenceInput, 'cell' | 'inputs'>,
  setting: WindowSetting,
): WindowKernel | WindowSkipReason {
  if (setting === 'off') return 'disabled';
  if (setting !== 'all' && !WINDOW_BACKENDS.includes(tf.getBackend())) return 'backend';
  const entry = KERNELS.find(([c]) => c === cell);
  if (!entry) return 'cell';
  if (inputs.shape[0] === 0 || inputs.shape[1] === 0) return 'empty';
  return entry[1];
}

/**
 * Drop-in for runLayerSequence: the window kernel when the conditions above hold, else `next`.
 * Call inside tf.tidy (or a gradient function).
 */
export function runWindowLayer(
  input: LayerSequenceInput,
  setting: WindowSetting,
  next: (input: LayerSequenceInput) => LayerSequenceOutput,
): LayerSequenceOutput {
  const choice = windowKernelFor(input, setting);
  const entry = KERNELS.find(([, name]) => name === choice);
  if (entry) {
    stats.window[entry[1]]++;
    return entry[2](input);
  }
  stats.skipped[choice as WindowSkipReason]++;
  return next(input);
}
