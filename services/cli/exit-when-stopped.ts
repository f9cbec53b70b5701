import type { Socket } from 'node:net';

import type { Logger } from '../../shared/logging/index.js';

/**
 * A service whose work is done leaves even if something still holds the event loop. After a
 * broker outage a client library can leave a retry timer or a socket behind, and a process that
 * never exits stays Terminating until Kubernetes SIGKILLs it at the end of the grace period (and
 * a supervisor's restart waits for that). With nothing left open the process exits at once, as
 * always; otherwise, after `graceMs`, it logs what is still open (sockets with their endpoints,
 * so the leak can be found) and exits with the code it has.
 */
export function exitWhenStopped(logger: Logger, graceMs = 2_000): void {
  setTimeout(() => {
    logger.warn(
      { activeResources: process.getActiveResourcesInfo(), sockets: openSockets(), graceMs },
      'stopped, but open handles kept the process alive; exiting anyway',
    );
    process.exit(process.exitCode ?? 0);
  }, graceMs).unref();
}

/** local → remote of each open TCP socket (Node's handle list; undocumented but stable). */
function openSockets(): string[] {
  const handles = (
    process as unknown as { _getActiveHandles?: () => unknown[] }
  )._getActiveHandles?.();
  return (handles ?? [])
    .filter((h): h is Socket => typeof (h as Socket)?.remotePort === 'number')
    .map((s) => `${s.localAddress}:${s.localPort} -> ${s.remoteAddress}:${s.remotePort}`);
}
