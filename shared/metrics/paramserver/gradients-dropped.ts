import { Counter, type Registry } from 'prom-client';

export const DROP_REASONS = ['stale', 'future', 'invalid'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * Gradients not applied: `stale` (computed more than `paramserver.staleness` versions ago),
 * `future` (on a version not yet published: another paramserver's parameters), `invalid`
 * (parameter names or sizes not the model's, no tokens, or non-finite values).
 */
export function gradientsDroppedTotal(registry: Registry): Counter<'reason'> {
  const counter = new Counter({
    name: 'rnnstream_paramserver_gradients_dropped_total',
    help: 'Gradients dropped without being applied, by reason: stale (beyond the staleness bound), future (version not published yet), invalid (wrong parameters, no tokens, non-finite values).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of DROP_REASONS) counter.inc({ reason }, 0); // every series exists from the start
  return counter;
}
