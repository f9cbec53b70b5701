import { readFileSync } from 'node:fs';

import { Gauge, type Registry } from 'prom-client';

const { version } = JSON.parse(
  readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
) as { version: string };

/**
 * `rnnstream_build_info{version, node_version, backend} 1`: the Prometheus idiom for what runs
 * (as `prometheus_build_info`), so a dashboard can show versions and backends and a query can
 * join on them. `backend` is the tensor backend the process selected ("none" when it needs none).
 */
export function registerBuildInfo(registry: Registry, { backend }: { backend: string }): void {
  if (registry.getSingleMetric('rnnstream_build_info') !== undefined) return; // a restart in-process
  const info = new Gauge({
    name: 'rnnstream_build_info',
    help: 'Always 1; its labels say the rnnstream version, the Node.js version and the tensor backend in use.',
    labelNames: ['version', 'node_version', 'backend'],
    registers: [registry],
  });
  info.set({ version, node_version: process.version, backend }, 1);
}
