import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ConfigError } from '../errors/index.js';
import type { ProbeAnswer, Probes } from './probes.js';
import type { Registry } from './registry.js';

export interface MetricsServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** e.g. http://127.0.0.1:9464/metrics */
  readonly url: string;
  close(): Promise<void>;
}

/** Liveness and readiness of a process that declares no conditions: up as soon as it answers. */
const ALWAYS_UP: Probes = {
  health: () => ({ ok: true, reasons: [] }),
  readiness: () => ({ ok: true, reasons: [] }),
};

/**
 * Serves over plain HTTP: `GET /metrics` (the registry in Prometheus text format), `GET /healthz`
 * (200 "ok", or 503 with what failed: the liveness probe) and `GET /readyz` (200 "ready", or 503
 * with one line per condition not met yet: the readiness probe). Anything else is 404. Port 0
 * picks a free port. close() stops accepting and ends open keep-alive connections, so a service
 * can exit promptly on SIGTERM.
 */
export async function startMetricsServer({
  registry,
  port,
  host = '0.0.0.0',
  probes = ALWAYS_UP,
}: {
  registry: Registry;
  port: number;
  host?: string;
  probes?: Probes;
}): Promise<MetricsServer> {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(
      `metrics port = ${port}: not a TCP port (fix: an integer in 0..65535, e.g. 9464; 0 picks a free one)`,
    );
  }
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) =>
          response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
    } else if (path === '/healthz') {
      answer(response, probes.health(), 'ok');
    } else if (path === '/readyz') {
      answer(response, probes.readiness(), 'ready');
    } else {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          `metrics port = ${port} on ${host}: ${error.code ?? error.message} (fix: choose another --metrics-port, or 0 for a free one; --metrics-host must be an address of this machine)`,
          { cause: error },
        ),
      );
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    port: bound,
    url: `http://${shownHost}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(
  response: import('node:http').ServerResponse,
  { ok, reasons }: ProbeAnswer,
  okText: string,
): void {
  response
    .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
    .end(ok ? `${okText}\n` : reasons.map((r) => `${r}\n`).join(''));
}
