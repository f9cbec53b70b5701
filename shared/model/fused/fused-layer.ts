/**
 * Fused recurrent kernels on the 'tensorflow' backend (tfjs-node): which layer window runs where.
 *
 * `runFusedLayer` runs a layer window with a fused TensorFlow kernel when every condition holds,
 * and with the generic tfjs time loop (../time-loop.ts, the reference) otherwise:
 *
 *   - the model's kernel choice (../layer-kernels.ts, fixed when the model is created) is not
 *     'off'; 'block' or 'cell' force the LSTM backward variant (./block-lstm-sequence.ts),
 *     'auto' lets the size of the layer choose;
 *   - the active backend is 'tensorflow' and its kernels passed a one-time probe
 *     (./kernel-probes.ts; a failure is logged once, then the generic path is used);
 *   - the batch has no left padding (`valid` undefined) and no recurrent dropout mask;
 *   - the cell is `lstm` without coupled gates (one BlockLSTM per window forward; BlockLSTMGrad
 *     or a per-step LSTMBlockCellGrad loop backward, ./block-lstm-sequence.ts) or `gru`
 *     (GRUBlockCell / GRUBlockCellGrad per step, ./gru-block-sequence.ts). Input dropout and
 *     LSTM peepholes are fine. README.md in this folder has the details and measurements.
 *
 * Both paths compute the same function (same loss, gradients and final state up to float32
 * round-off: test/shared/model/fused-lstm.test.ts, fused-gru.test.ts).
 */
import { tf } from '../../engine/tf.js';
import type { FusedSetting } from '../../engine/flags.js';
import { gruCell } from '../cells/gru.js';
import { lstmCell } from '../cells/lstm.js';
import {
  runLayerSequence,
  type LayerSequenceInput,
  type LayerSequenceOutput,
} from '../time-loop.js';
import { blockLstmSequence, type LstmGradient } from './block-lstm-sequence.js';
import { gruBlockSequence } from './gru-block-sequence.js';
import { firstLine, kernelWorks, type FusedKernelLogger } from './kernel-probes.js';
import { nativeOps, type NativeOps } from './native-ops.js';

/**
 * The LSTM backward variant when not forced: 'cell' once the layer's weight matrix [W; U] has
 * this many entries ((d+H)·4H), else 'block'. BlockLSTMGrad adds every step's weight gradient
 * into the whole matrix with Eigen's (slow, non-oneDNN) products, so its cost per step grows
 * with the weight size whatever the batch; the 'cell' loop costs ~3 small ops per step plus one
 * window-wide oneDNN product. Measured (2-core AVX-512 Xeon, T=32, d=64, fwd+bwd of the whole
 * training step, block vs cell): H=128 B=64 ~71 vs ~76 ms, B=256 ~198 vs ~200 ms; H=192 about
 * equal; H=256 B=4 ~54 vs ~31 ms, B=64 ~159 vs ~133 ms; H=512 B=64 ~480 vs ~275 ms.
 */
export const CELL_GRADIENT_MIN_WEIGHTS = 262_144;

export type FusedKernel = 'lstm' | 'gru';
export type GenericReason =
  | 'disabled'
  | 'backend'
  | 'cell'
  | 'coupled-gates'
  | 'padding'
  | 'recurrent-dropout'
  | 'empty'
  | 'unavailable'
  | 'failed';

export interface FusedKernelStats {
  /** Layer-window runs per fused kernel. */
  readonly fused: Record<FusedKernel, number>;
  /** Fused LSTM layer-window runs per backward variant (counted when the forward runs). */
  readonly lstmGradient: Record<LstmGradient, number>;
  /** Layer-window runs on the generic path, by the first condition that failed. */
  readonly generic: Record<GenericReason, number>;
}

let logger: FusedKernelLogger = {
  warn: (obj, msg) => console.error(`[rnnstream] WARN ${msg} ${JSON.stringify(obj)}`),
};

/** Where the one-time "fused kernel unavailable" warning goes (default: stderr). */
export function setFusedKernelLogger(next: FusedKernelLogger): void {
  logger = next;
}

const stats = {
  fused: { lstm: 0, gru: 0 },
  lstmGradient: { block: 0, cell: 0 },
  generic: {
    disabled: 0,
    backend: 0,
    cell: 0,
    'coupled-gates': 0,
    padding: 0,
    'recurrent-dropout': 0,
    empty: 0,
    unavailable: 0,
    failed: 0,
  },
};

/** Counters of which path each layer window took since the start (or the last reset). */
export function fusedKernelStats(): FusedKernelStats {
  return {
    fused: { ...stats.fused },
    lstmGradient: { ...stats.lstmGradient },
    generic: { ...stats.generic },
  };
}

export function resetFusedKernelStats(): void {
  for (const k of Object.keys(stats.fused) as FusedKernel[]) stats.fused[k] = 0;
  for (const k of Object.keys(stats.lstmGradient) as LstmGradient[]) stats.lstmGradient[k] = 0;
  for (const k of Object.keys(stats.generic) as GenericReason[]) stats.generic[k] = 0;
}

/** The LSTM backward variant for a layer window: forced by the setting, else by size. */
export function lstmGradientFor(
  { inputs, options }: Pick<LayerSequenceInput, 'inputs' | 'options'>,
  setting: FusedSetting,
): LstmGradient {
  if (setting === 'block' || setting === 'cell') return setting;
  const [, steps, inputSize] = inputs.shape;
  if (steps === 1) return 'cell'; // one LSTMBlockCell op
  const weights = (inputSize + options.hidden) * 4 * options.hidden;
  return weights >= CELL_GRADIENT_MIN_WEIGHTS ? 'cell' : 'block';
}

/**
 * Which path a layer window would take: a fused kernel, or the reason for the generic loop.
 * Does not run the kernel probe (see `runFusedLayer`).
 */
export function fusedKernelFor(
  {
    cell,
    options,
    inputs,
    valid,
    recurrentMask,
  }: Pick<LayerSequenceInput, 'cell' | 'options' | 'inputs' | 'valid' | 'recurrentMask'>,
  setting: FusedSetting,
): FusedKernel | GenericReason {
  if (setting === 'off') return 'disabled';
  if (tf.getBackend() !== 'tensorflow') return 'backend';
  const kernel: FusedKernel | undefined =
    cell === lstmCell ? 'lstm' : cell === gruCell ? 'gru' : undefined;
  if (!kernel) return 'cell';
  if (kernel === 'lstm' && options.coupledGates) return 'coupled-gates';
  if (valid) return 'padding';
  if (recurrentMask) return 'recurrent-dropout';
  // No keys (or no steps): TensorFlow's kernels reject empty batches, tfjs' loop does not.
  if (inputs.shape[0] === 0 || inputs.shape[1] === 0) return 'empty';
  return kernel;
}

/**
 * Drop-in for runLayerSequence: the fused kernel when the conditions above hold, else the
 * generic loop. Call inside tf.tidy (or a gradient function), like runLayerSequence.
 */
export function runFusedLayer(
  input: LayerSequenceInput,
  setting: FusedSetting,
): LayerSequenceOutput {
  const choice = fusedKernelFor(input, setting);
  const ops = choice === 'lstm' || choice === 'gru' ? nativeOps() : undefined;
  if ((choice === 'lstm' || choice === 'gru') && ops && kernelWorks(ops, choice, logger)) {
    try {
      let result: LayerSequenceOutput;
      if (choice === 'lstm') {
        let gradient = lstmGradientFor(input, setting);
        if (gradient === 'cell' && !kernelWorks(ops, 'lstm-cell', logger)) gradient = 'block';
        result = blockLstmSequence(ops, gradient, input);
        stats.lstmGradient[gradient]++;
      } else {
        result = gruBlockSequence(ops, input);
      }
      stats.fused[choice]++;
      return result;
    } catch (err) {
      // Not expected after a successful probe: this call runs on the reference path instead.
      reportFailure(ops, choice, err);
      stats.generic.failed++;
      return runLayerSequence(input);
    }
  }
  const reason: GenericReason = choice === 'lstm' || choice === 'gru' ? 'unavailable' : choice;
  stats.generic[reason]++;
  return runLayerSequence(input);
}

const reportedFailures = new Set<string>();

/** Logs a failed fused forward once per kernel and error message. */
function reportFailure(ops: NativeOps, kernel: FusedKernel, err: unknown): void {
  const error = firstLine(err);
  const key = `${kernel}: ${error}`;
  if (reportedFailures.has(key)) return;
  reportedFailures.add(key);
  logger.warn(
    { kernel, tensorflow: ops.tensorflowVersion, error },
    `fused ${kernel} kernel failed; this layer window ran on the generic tfjs time loop (same results)`,
  );
}
