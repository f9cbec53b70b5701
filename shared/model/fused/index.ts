/** Fused TensorFlow kernels for recurrent layers: ./fused-layer.ts decides, ./README.md explains. */
export {
  CELL_GRADIENT_MIN_WEIGHTS,
  fusedKernelFor,
  fusedKernelStats,
  lstmGradientFor,
  resetFusedKernelStats,
  runFusedLayer,
  setFusedKernelLogger,
  type FusedKernel,
  type FusedKernelStats,
  type GenericReason,
} from './fused-layer.js';
export type { FusedKernelLogger } from './kernel-probes.js';
export { nativeOps } from './native-ops.js';
