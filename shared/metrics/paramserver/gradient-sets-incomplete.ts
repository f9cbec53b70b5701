import { Counter, type Registry } from 'prom-client';

/** Gradient chunk sets given up before all chunks arrived (too old, or over the memory bound). */
export function gradientSetsIncompleteTotal(registry: Registry): Counter<'reason'> {
  const counter = new Counter({
    name: 'rnnstream_paramserver_gradient_sets_incomplete_total',
    help: 'Gradient chunk sets dropped incomplete, by reason: expired (older than the assembler age limit) or memory (over its byte bound).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['expired', 'memory']) counter.inc({ reason }, 0);
  return counter;
}
