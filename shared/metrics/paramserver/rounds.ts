import { Counter, type Registry } from 'prom-client';

export const ROUND_TRIGGERS = ['all-live', 'deadline', 'arrival'] as const;

/** Applied rounds by what closed them (sync: all-live or deadline; async: arrival). */
export function roundsTotal(registry: Registry): Counter<'trigger'> {
  const counter = new Counter({
    name: 'rnnstream_paramserver_rounds_total',
    help: 'Rounds applied, by what closed them: all-live (every live worker reported, sync), deadline (sync), arrival (async).',
    labelNames: ['trigger'],
    registers: [registry],
  });
  for (const trigger of ROUND_TRIGGERS) counter.inc({ trigger }, 0);
  return counter;
}
