/**
 * Which protocol versions a broker accepts (Kafka's ApiVersions request, KIP-35), and whether
 * kafkajs can talk to it: for every API rnnstream's transport uses, kafkajs sends
 * min(its newest implemented version, the broker's newest), which the broker must still accept
 * (Kafka 4.0 dropped the oldest versions of several APIs, KIP-896).
 *
 * kafkajs keeps each broker's versions inside its cluster object, out of reach, so the request is
 * sent here on a connection of its own: ApiVersions v0, which every broker since 0.10 answers in
 * the same format (a broker answers a version it does not know with v0 too). Plaintext only, as
 * createKafkaClient.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';

import './kafkajs.js'; // kafkajs' internals load with our replacements, before the require below

export interface ApiVersionRange {
  readonly min: number;
  readonly max: number;
}

/** API key -> the versions the broker accepts. */
export type BrokerApiVersions = ReadonlyMap<number, ApiVersionRange>;

const API_VERSIONS_KEY = 18;

/** ApiVersions v0 request: header v1 (api key, version, correlation id, client id), empty body. */
function apiVersionsRequest(clientId: string, correlationId: number): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const frame = Buffer.alloc(4 + 2 + 2 + 4 + 2 + id.length);
  let at = frame.writeInt32BE(frame.length - 4, 0);
  at = frame.writeInt16BE(API_VERSIONS_KEY, at);
  at = frame.writeInt16BE(0, at);
  at = frame.writeInt32BE(correlationId, at);
  at = frame.writeInt16BE(id.length, at);
  id.copy(frame, at);
  return frame;
}

/** Response v0 after the size: correlation id, error code, [api key, min, max]. */
export function parseApiVersionsResponse(body: Buffer, correlationId: number): BrokerApiVersions {
  if (body.length < 10)
    throw new Error(`ApiVersions response of ${body.length} bytes is too short`);
  const correlation = body.readInt32BE(0);
  if (correlation !== correlationId)
    throw new Error(`ApiVersions response for request ${correlation}, expected ${correlationId}`);
  const errorCode = body.readInt16BE(4);
  if (errorCode !== 0) throw new Error(`ApiVersions answered error code ${errorCode}`);
  const count = body.readInt32BE(6);
  if (count < 0 || body.length < 10 + count * 6)
    throw new Error(`ApiVersions response announces ${count} APIs in ${body.length} bytes`);
  const versions = new Map<number, ApiVersionRange>();
  for (let i = 0, at = 10; i < count; i++, at += 6)
    versions.set(body.readInt16BE(at), {
      min: body.readInt16BE(at + 2),
      max: body.readInt16BE(at + 4),
    });
  return versions;
}

/** Asks the broker at host:port for its API versions. */
export function fetchBrokerApiVersions({
  host,
  port,
  clientId,
  timeoutMs = 5_000,
}: {
  host: string;
  port: number;
  clientId: string;
  timeoutMs?: number;
}): Promise<BrokerApiVersions> {
  const correlationId = 1;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`no ApiVersions answer from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.on('error', fail);
    socket.on('connect', () => socket.write(apiVersionsRequest(clientId, correlationId)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.destroy();
      try {
        resolve(
          parseApiVersionsResponse(
            received.subarray(4, 4 + received.readInt32BE(0)),
            correlationId,
          ),
        );
      } catch (error) {
        reject(error as Error);
      }
    });
    socket.on('end', () =>
      fail(new Error(`${host}:${port} closed the connection before answering`)),
    );
  });
}

/** The Kafka APIs our transport sends through kafkajs (producers, transactions, groups, admin). */
export const APIS_USED = [
  'Produce',
  'Fetch',
  'ListOffsets',
  'Metadata',
  'OffsetCommit',
  'OffsetFetch',
  'GroupCoordinator',
  'JoinGroup',
  'Heartbeat',
  'LeaveGroup',
  'SyncGroup',
  'DescribeGroups',
  'ApiVersions',
  'CreateTopics',
  'DeleteTopics',
  'InitProducerId',
  'AddPartitionsToTxn',
  'AddOffsetsToTxn',
  'EndTxn',
  'TxnOffsetCommit',
  'DescribeConfigs',
] as const;

export interface ApiMismatch {
  readonly api: string;
  /** What goes wrong: the broker lacks the API, or refuses the version kafkajs would send. */
  readonly reason: string;
}

interface KafkajsRequests {
  requests: Record<string, { versions: string[] }>;
}

const require = createRequire(import.meta.url);

/** API name -> key, and the versions kafkajs implements, from kafkajs' own protocol tables. */
function kafkajsProtocol(): { keys: Record<string, number>; versions: Record<string, number[]> } {
  const keys = require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>;
  const { requests } = require('kafkajs/src/protocol/requests') as KafkajsRequests;
  const versions: Record<string, number[]> = {};
  for (const [name, definition] of Object.entries(requests))
    versions[name] = definition.versions.map(Number);
  return { keys, versions };
}

/** The APIs of APIS_USED that kafkajs cannot use with a broker that accepts `broker`. */
export function kafkajsMismatches(broker: BrokerApiVersions): ApiMismatch[] {
  const { keys, versions } = kafkajsProtocol();
  const mismatches: ApiMismatch[] = [];
  for (const api of APIS_USED) {
    const range = broker.get(keys[api]!);
    if (range === undefined) {
      mismatches.push({ api, reason: 'the broker does not offer it' });
      continue;
    }
    const sent = Math.min(Math.max(...versions[api]!), range.max);
    if (sent < range.min)
      mismatches.push({
        api,
        reason: `kafkajs would send v${sent}, the broker accepts v${range.min}-v${range.max}`,
      });
  }
  return mismatches;
}

/** The kafkajs release in node_modules. */
export function installedKafkajsVersion(): string {
  const manifest = require.resolve('kafkajs/package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
