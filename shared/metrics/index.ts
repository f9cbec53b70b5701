/**
 * Prometheus metrics (prom-client). Generic parts here; each service's families live in a folder
 * of their own (`paramserver/`), one file per family, base units in names, counters end in
 * `_total`, latencies are histograms, and no label takes per-key or per-worker values.
 */
export { createMetricsRegistry, type Registry } from './registry.js';
export { startMetricsServer, type MetricsServer } from './metrics-server.js';
