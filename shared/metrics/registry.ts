import { collectDefaultMetrics, Registry } from 'prom-client';

export type { Registry } from 'prom-client';

/**
 * A Prometheus registry of our own (not prom-client's global one), so two services or tests in
 * one process never share counters. With `defaultMetrics` it also carries the standard Node.js
 * process families (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...), computed when
 * scraped. `labels` are added to every series (e.g. { service: 'paramserver' }).
 */
export function createMetricsRegistry({
  defaultMetrics = true,
  labels,
}: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): Registry {
  const registry = new Registry();
  if (labels !== undefined) registry.setDefaultLabels(labels);
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}
