import {
  startWorker,
  type WorkerHandle,
  type WorkerOptions,
} from '../../../services/worker/run-worker.js';

/**
 * A worker in the test's own process (so a test can give it a clock, hooks and a metrics
 * registry), with the settings the worker tests share unless `options` says otherwise:
 * inference only, as no paramserver runs beside it, and a 6 s Kafka session timeout (the
 * service's default is 30 s). Stop it in the test's `finally`.
 */
export function startTestWorker(options: WorkerOptions): Promise<WorkerHandle> {
  return startWorker({ training: false, sessionTimeoutMs: 6_000, ...options });
}
