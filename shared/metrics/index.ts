/**
 * Prometheus metrics (prom-client): a registry per service, the /metrics server, and each
 * service's families as one table (./worker-metrics.ts, ./paramserver-metrics.ts, ./decoder-metrics.ts) built by
 * ./families.ts, which states the naming rules.
 */
export { createMetricsRegistry, type Registry } from './registry.js';
export { startMetricsServer, type MetricsServer } from './metrics-server.js';
export { registerBuildInfo } from './build-info.js';
export { ServiceProbes, type ProbeAnswer, type Probes } from './probes.js';
export { createWorkerMetrics, type WorkerMetrics } from './worker-metrics.js';
export {
  createDecoderMetrics,
  DECODE_ERROR_REASONS,
  DECODE_TASKS,
  type DecoderMetrics,
} from './decoder-metrics.js';
export {
  createParamserverMetrics,
  CHUNK_REJECTIONS,
  DROP_REASONS,
  ROUND_TRIGGERS,
  type ChunkRejection,
  type DropReason,
  type ParamserverMetrics,
} from './paramserver-metrics.js';
