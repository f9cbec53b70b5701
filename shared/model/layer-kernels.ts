/**
 * Which code runs a recurrent layer window, chosen once per model (RecurrentModel.create) and
 * fixed for its life, so a hot path never reads the environment and two models in one process
 * (a test comparing paths) can run different kernels side by side.
 *
 * Per layer window, first that applies:
 *   1. a window kernel (./window: wasm by default),
 *   2. a fused TensorFlow kernel (./fused: 'tensorflow' backend, lstm and gru),
 *   3. the generic tfjs time loop (./time-loop.ts), the reference the others must agree with.
 * Each path also checks the window itself (backend, cell, padding, dropout, size) and counts why
 * it passed a window on (fusedKernelStats, windowKernelStats).
 */
import { getFlag, type FusedSetting, type WindowSetting } from '../engine/flags.js';
import { runFusedLayer } from './fused/index.js';
import type { LayerSequenceInput, LayerSequenceOutput } from './time-loop.js';
import { runWindowLayer } from './window/index.js';

export interface KernelChoice {
  /** 'off': the generic loop for every window (window kernels too); 'block'/'cell': that fused LSTM backward. */
  readonly fused: FusedSetting;
  /** 'off': no window kernels; 'all': on every backend, not only on wasm. */
  readonly window: WindowSetting;
}

/** The reference path only. */
export const GENERIC_KERNELS: KernelChoice = { fused: 'off', window: 'off' };

/** The choice RNNSTREAM_FUSED and RNNSTREAM_WINDOW ask for (shared/engine/flags.ts). */
export function kernelChoiceFromFlags(): KernelChoice {
  return { fused: getFlag('fused'), window: getFlag('window') };
}

export type LayerKernel = (input: LayerSequenceInput) => LayerSequenceOutput;

/** The function that runs every layer window of a model created with `choice`. */
export function layerKernel(choice: KernelChoice): LayerKernel {
  // Turning fused kernels off means the reference path: window kernels are not it either.
  const window: WindowSetting = choice.fused === 'off' ? 'off' : choice.window;
  const next: LayerKernel = (input) => runFusedLayer(input, choice.fused);
  return (input) => runWindowLayer(input, window, next);
}
