import { Counter, type Registry } from 'prom-client';

/** Events skipped because a committed transaction had already processed them (redelivery after a rebalance or restart): only their offsets commit. */
export function eventsAlreadyProcessedTotal(registry: Registry): Counter {
  return new Counter({
    name: 'rnnstream_worker_events_already_processed_total',
    help: 'Events skipped because a committed transaction had already processed them (redelivery after a rebalance or restart): only their offsets commit.',
    registers: [registry],
  });
}
