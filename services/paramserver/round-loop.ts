import type { Logger } from '../../shared/logging/index.js';
import type { ParamserverMetrics } from '../../shared/metrics/paramserver-metrics.js';
import type { ParameterServer } from '../../shared/paramserver/index.js';
import type { KafkaBusRecord } from '../../shared/transport/kafka/index.js';
import type { GradientReader } from './gradient-reader.js';
import type { RoundCloser } from './round-closer.js';
import { createSerial } from './serial.js';

/**
 * The round loop: feeds the reader's batches into the server and closes a round whenever the
 * policy says it is due — after a record, after a batch, and on a timer (deadlines pass while
 * nothing arrives). Batches and timer take turns (createSerial), so a round's persist and publish
 * finish before the next record counts. Resolves after `signal` aborts (the round in progress is
 * finished first); rejects with the first failure of reading or of a round.
 */
export async function runRoundLoop({
  server,
  reader,
  closer,
  tickMs,
  signal,
  metrics,
  log,
  onStarted,
}: {
  server: ParameterServer;
  reader: GradientReader;
  closer: RoundCloser;
  tickMs: number;
  signal: AbortSignal | undefined;
  metrics: ParamserverMetrics;
  log: Logger;
  /** Called once the timer and the stop signal are armed, before the first batch is read. */
  onStarted: () => void;
}): Promise<void> {
  let fatal: { error: unknown } | undefined;
  const serial = createSerial();
  const closeDueRound = async (arrivalsDone: boolean) => {
    const trigger = server.dueRound({ nowMs: Date.now(), arrivalsDone });
    if (trigger) await closer.closeRound(trigger);
  };
  const handleBatch = async (batch: ReadonlyArray<KafkaBusRecord>) => {
    for (const record of batch) if (reader.handleRecord(record)) await closeDueRound(false);
    await closeDueRound(true);
    metrics.liveWorkers.set(server.liveWorkers(Date.now()).length);
  };
  const fail = (error: unknown) => {
    fatal ??= { error };
    void reader.stop();
  };
  const timer = setInterval(() => {
    serial(async () => {
      reader.intake.expire();
      await closeDueRound(true);
    }).catch(fail);
  }, tickMs);
  const stop = () => {
    log.info('stopping: finishing the round in progress, then disconnecting');
    void serial(() => reader.stop());
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  try {
    onStarted();
    try {
      for await (const batch of reader.batches()) await serial(() => handleBatch(batch));
    } catch (error) {
      fail(error);
    }
    clearInterval(timer);
    await serial(() => {}); // a timer round already started finishes
    if (fatal) throw fatal.error;
  } finally {
    clearInterval(timer);
    signal?.removeEventListener('abort', stop);
  }
}
