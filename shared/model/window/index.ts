/** Window kernels for recurrent layers: ./window-layer.ts decides, ./README.md explains. */
export {
  WINDOW_BACKENDS,
  resetWindowKernelStats,
  runWindowLayer,
  windowKernelFor,
  windowKernelStats,
  type WindowKernel,
  type WindowKernelStats,
  type WindowSkipReason,
} from './window-layer.js';
