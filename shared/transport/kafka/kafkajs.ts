/**
 * kafkajs, loaded with some of its internal modules replaced by faster ones that do the same:
 *
 * - the CRC-32C of every record batch it produces: kafkajs computes it in JavaScript, one table
 *   lookup per byte (about 55 ms for the 22 MB of a 5.6 M-parameter version or gradient);
 *   `@node-rs/crc32` takes ~4 ms;
 * - the grouping of a send's messages by partition, which kafkajs does by copying the partition's
 *   array for every message (quadratic: ~0.15 s for a worker transaction of 20,000 predictions
 *   over 4 partitions); here one push per message;
 * - the encoding of Produce requests and the framing of every request
 *   (`produce-request-encoder.ts`): one pass into one buffer instead of an Encoder per record
 *   and a copy per level of the request;
 * - how connections cut what they read into responses (`response-assembler.ts`): each byte
 *   copied once into its response, so sockets can read into one reused buffer.
 *
 * kafkajs (unmaintained since 2023) has no option for either, so the replacements are put into
 * the require cache under the files kafkajs requires, before kafkajs loads. They are written
 * against kafkajs 2.2.4's internals (package.json pins that exact release): where node_modules
 * holds other ones (kafkajsInternalsMismatch), or the native package is missing for this
 * platform, or kafkajs was already loaded elsewhere, kafkajs keeps its own code, the first client
 * logs why, and test/shared/transport/kafkajs-overrides.test.ts fails. README.md here has the
 * measured gains. Import kafkajs through this module only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';

import { ResponseAssembler, type KafkaResponseFrame } from './response-assembler.js';
import {
  createProduceRequestV3,
  createRequestFramer,
  type KafkajsEncoder,
  type ProduceRequestDeps,
} from './produce-request-encoder.js';

import type * as KafkaJS from 'kafkajs';

const require = createRequire(import.meta.url);

/** Which kafkajs internals were replaced, and why not where one was not. */
export type KafkajsOverride =
  | { readonly implementation: 'replaced' }
  | { readonly implementation: 'kafkajs'; readonly reason: string };

const KAFKAJS_DIR = path.dirname(require.resolve('kafkajs/package.json'));

/** The kafkajs release whose internals the replacements reproduce (package.json pins it). */
export const EXPECTED_KAFKAJS_VERSION = '2.2.4';

/**
 * SHA-256 of each kafkajs 2.2.4 source file (under src/) that a replacement stands in for, calls
 * or patches, or whose calls into a replaced file fix its contract.
 */
const EXPECTED_KAFKAJS_FILES: Readonly<Record<string, string>> = {
  'protocol/recordBatch/crc32C/crc32C.js':
    '1c09c7a44e7a207f2dabb920e6bf9f6b1b3fd9cc023e959a9e91ba83e5b6f61a',
  'protocol/recordBatch/crc32C/index.js':
    '0826ea7387f25400b1a24bacdbba85db9c1f2e932f168874728a9ecaf1eb2379',
  'producer/groupMessagesPerPartition.js':
    'ea72357721fbf67770b5e06b9bf4260faa1e60f3affb556bff2cc7892c1881fb',
  'producer/sendMessages.js': '8a120e6993955e040a13014cccebd79b8d41e7355d6eda1065fa83fea2fbbcdb',
  'protocol/requests/produce/v3/request.js':
    '993a3db997827088f5acb08cacf3c67a99ec2886303ff465d244329b8a1c7f99',
  'protocol/requests/produce/v7/request.js':
    'bc64c2f2d7feb31ae9c2f03b75a5ec5a290eb9084c703648803e5f15ec1a63eb',
  'protocol/request.js': '2270900ca6474026c11957fe71ac586881985460ed2554db22ad8870dcaff634',
  'protocol/encoder.js': '9977889e184a9e910e4f6098c36ec6a0ca36c183aa6ead0f24191b6aa1c9a777',
  'utils/long.js': 'c85b8ecea7cf07520328e3e9c3b205c4fab5b68a657e3a92c400b582a5c1aa2c',
  'network/connection.js': '2a993b2e74421ca6d846efd59e4ba74b11100dbe7d40d0f52ea3218e917aafdd',
  'network/requestQueue/index.js':
    'b55986089c14f8f7bfc377922e2e65b3e4c1e7c7af2752d3b10a75dfe9e9260c',
  'network/socket.js': '9922c37e8a4d9e6b040e3bf8d6d74ca9f4c39c3c875deadc0f9dc5052e714ebe',
};

/** What to do when kafkajsInternalsMismatch reports anything. */
export const KAFKAJS_MISMATCH_FIX = `(fix: pin "kafkajs": "${EXPECTED_KAFKAJS_VERSION}" in package.json and reinstall; to move to another release, check each replacement in shared/transport/kafka against its code, then update EXPECTED_KAFKAJS_VERSION and EXPECTED_KAFKAJS_FILES in kafkajs.ts)`;

/**
 * How the kafkajs package in `dir` differs from the one the replacements were written for, one
 * line per difference (empty: the same). Whole files are compared: a replacement that no longer
 * matches kafkajs' code could send wrong bytes, so any difference switches them all off.
 */
export function kafkajsInternalsMismatch(dir: string = KAFKAJS_DIR): string[] {
  const problems: string[] = [];
  const version = readJson(path.join(dir, 'package.json'))?.version;
  if (version !== EXPECTED_KAFKAJS_VERSION)
    problems.push(`kafkajs ${String(version)} is installed, not ${EXPECTED_KAFKAJS_VERSION}`);
  for (const [file, expected] of Object.entries(EXPECTED_KAFKAJS_FILES)) {
    const actual = sha256(path.join(dir, 'src', file));
    if (actual === undefined) problems.push(`kafkajs has no src/${file}`);
    else if (actual !== expected)
      problems.push(`src/${file} is not kafkajs ${EXPECTED_KAFKAJS_VERSION}'s (sha256 ${actual})`);
  }
  return problems;
}

function readJson(file: string): { version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  } catch {
    return undefined;
  }
}

function sha256(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

const internalsMismatch = kafkajsInternalsMismatch();
/** Why no replacement is installed when kafkajs is not the expected one, else undefined. */
const mismatchReason =
  internalsMismatch.length === 0
    ? undefined
    : `${internalsMismatch.join('; ')} ${KAFKAJS_MISMATCH_FIX}`;

function override(file: string, load: () => unknown): KafkajsOverride {
  const target = kafkajsFile(file);
  if (require.cache[require.resolve('kafkajs')] !== undefined)
    return { implementation: 'kafkajs', reason: 'kafkajs was loaded before this module' };
  if (mismatchReason !== undefined) return { implementation: 'kafkajs', reason: mismatchReason };
  try {
    require.resolve(target);
  } catch {
    return { implementation: 'kafkajs', reason: `kafkajs has no ${target} (a newer layout)` };
  }
  let exports: unknown;
  try {
    exports = load();
  } catch (error) {
    return { implementation: 'kafkajs', reason: (error as Error).message };
  }
  const module = new Module(target);
  module.filename = target;
  module.loaded = true;
  module.exports = exports;
  require.cache[target] = module;
  return { implementation: 'replaced' };
}

const kafkajsFile = (file: string): string => path.join(KAFKAJS_DIR, 'src', ...file.split('/'));

/** Compiles kafkajs' own copy of a file whose cache entry is (to be) replaced. */
function loadKafkajsOriginal(file: string): unknown {
  const filename = kafkajsFile(file);
  const module = new Module(filename) as Module & {
    _compile(source: string, filename: string): void;
  };
  module.filename = filename;
  module.paths = (
    Module as unknown as { _nodeModulePaths(dir: string): string[] }
  )._nodeModulePaths(path.dirname(filename));
  module._compile(readFileSync(filename, 'utf8'), filename);
  return module.exports;
}

function kafkajsEncoderFactory(): () => KafkajsEncoder {
  const Encoder = require(kafkajsFile('protocol/encoder.js')) as new (
    size: number,
  ) => KafkajsEncoder;
  return () => new Encoder(0);
}

interface GroupOptions {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly unknown[];
  partitioner: (options: {
    topic: string;
    partitionMetadata: readonly unknown[];
    message: unknown;
  }) => number;
}

/** kafkajs' groupMessagesPerPartition in linear time: partition -> its messages, in send order. */
export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupOptions): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

export const kafkajsOverrides = {
  crc32c: override('protocol/recordBatch/crc32C/crc32C.js', () => {
    let native: (input: Uint8Array, initial?: number) => number;
    try {
      native = (require('@node-rs/crc32') as { crc32c: typeof native }).crc32c;
    } catch (error) {
      throw new Error(
        `@node-rs/crc32 does not load on ${process.platform}-${process.arch}: ${(error as Error).message}`,
      );
    }
    // kafkajs' contract for this file: (buffer) => the CRC-32C as a (possibly signed) 32-bit number.
    return (buffer: Uint8Array) => native(buffer);
  }),
  groupMessagesPerPartition: override(
    'producer/groupMessagesPerPartition.js',
    () => groupMessagesPerPartition,
  ),
  produceRequest: override('protocol/requests/produce/v3/request.js', () => {
    const Long = require(kafkajsFile('utils/long.js')) as {
      fromValue: ProduceRequestDeps['longFromValue'];
    };
    return createProduceRequestV3({
      newEncoder: kafkajsEncoderFactory(),
      longFromValue: (value) => Long.fromValue(value),
      crc32c: require(kafkajsFile('protocol/recordBatch/crc32C/index.js')) as (b: Buffer) => number,
      kafkajsProduceRequest: loadKafkajsOriginal(
        'protocol/requests/produce/v3/request.js',
      ) as ProduceRequestDeps['kafkajsProduceRequest'],
    });
  }),
  requestFrame: override('protocol/request.js', () => createRequestFramer(kafkajsEncoderFactory())),
} as const;

const kafkajs = require('kafkajs') as typeof KafkaJS;
export default kafkajs;

interface KafkajsConnection {
  authHandlers: unknown;
  socket: { destroy(error?: Error): void };
  requestQueue: { fulfillRequest(frame: KafkaResponseFrame): void };
  processData(data: Buffer): unknown;
}

/**
 * Connections read responses through a ResponseAssembler (one copy of each byte, nothing of a
 * socket read kept) instead of kafkajs' list of reads; SASL handshakes keep kafkajs' own code.
 */
function installResponseAssembler(): KafkajsOverride {
  if (mismatchReason !== undefined) return { implementation: 'kafkajs', reason: mismatchReason };
  let Connection: { prototype: KafkajsConnection };
  try {
    Connection = require(kafkajsFile('network/connection.js')) as typeof Connection;
  } catch (error) {
    return { implementation: 'kafkajs', reason: (error as Error).message };
  }
  const original = Connection.prototype.processData;
  if (typeof original !== 'function')
    return { implementation: 'kafkajs', reason: 'kafkajs connections have no processData' };
  // Per socket: a reconnect starts on a response boundary, whatever the old socket left.
  const assemblers = new WeakMap<object, ResponseAssembler>();
  Connection.prototype.processData = function processData(this: KafkajsConnection, data: Buffer) {
    // Authentication completes before any other request is sent, so the two never interleave.
    if (this.authHandlers) return original.call(this, Buffer.from(data));
    let assembler = assemblers.get(this.socket);
    if (assembler === undefined) assemblers.set(this.socket, (assembler = new ResponseAssembler()));
    try {
      assembler.push(data, (frame) => this.requestQueue.fulfillRequest(frame));
    } catch (error) {
      // Not a Kafka response stream: the connection's error handler fails its requests and
      // kafkajs reconnects (thrown here, it would end the process from inside a socket event).
      this.socket.destroy(error as Error);
    }
    return undefined;
  };
  return { implementation: 'replaced' };
}

export const responseAssembly = installResponseAssembler();

/** The SASL mechanisms whose kafkajs authenticators rnnstream wraps (sasl-login.ts). */
export type KafkajsSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** kafkajs' authenticator factory: credentials -> the `authenticationProvider` of its docs. */
export type KafkajsSaslAuthenticator = (credentials: {
  username: string;
  password: string;
}) => (args: KafkaJS.AuthenticationProviderArgs) => KafkaJS.Authenticator;

const SASL_AUTHENTICATOR_FILES: Readonly<Record<KafkajsSaslMechanism, string>> = {
  plain: 'broker/saslAuthenticator/plain.js',
  'scram-sha-256': 'broker/saslAuthenticator/scram256.js',
  'scram-sha-512': 'broker/saslAuthenticator/scram512.js',
};

/**
 * kafkajs' own authenticator for `mechanism`, so that a wrapper can name the user in a refused
 * login; undefined where kafkajs keeps it elsewhere (the caller then passes the credentials to
 * kafkajs as they are). What it returns is kafkajs' documented custom-mechanism interface
 * (`sasl: { mechanism, authenticationProvider }`), so its code is not pinned like the rest.
 */
export function kafkajsSaslAuthenticator(
  mechanism: KafkajsSaslMechanism,
): KafkajsSaslAuthenticator | undefined {
  try {
    const loaded: unknown = require(kafkajsFile(SASL_AUTHENTICATOR_FILES[mechanism]));
    return typeof loaded === 'function' ? (loaded as KafkajsSaslAuthenticator) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Node's codes for a certificate that verification rejected (untrusted CA, expired, wrong host
 * name) or that the broker rejected (client certificate missing or unknown to it).
 */
export function isCertificateFailure(code: unknown): boolean {
  return (
    typeof code === 'string' &&
    /CERT|ALTNAME|UNKNOWN_CA|HOSTNAME_MISMATCH|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)
  );
}

interface KafkajsBroker {
  connect(this: unknown): Promise<unknown>;
}

/** The error or one of its causes failed on a certificate. */
function failedOnCertificate(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    if (isCertificateFailure((e as { code?: unknown }).code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A broker connection that fails on a certificate is not retriable: kafkajs treats it as any
 * connection error and retries with back-off (about 10 s with 5 retries, again for each client
 * that connects), although no retry makes an untrusted certificate trusted. Wrapped at the
 * broker's connect, which covers the TLS handshake and the first requests (with TLS 1.3 a broker
 * refuses a client certificate only once the client has sent something).
 */
function installCertificateFailFast(): KafkajsOverride {
  if (mismatchReason !== undefined) return { implementation: 'kafkajs', reason: mismatchReason };
  let Broker: { prototype: KafkajsBroker };
  try {
    Broker = require(kafkajsFile('broker/index.js')) as typeof Broker;
  } catch (error) {
    return { implementation: 'kafkajs', reason: (error as Error).message };
  }
  const original = Broker.prototype.connect;
  if (typeof original !== 'function')
    return { implementation: 'kafkajs', reason: 'kafkajs brokers have no connect' };
  Broker.prototype.connect = async function connect(this: unknown) {
    try {
      return await original.call(this);
    } catch (error) {
      if (failedOnCertificate(error)) (error as { retriable?: boolean }).retriable = false;
      throw error;
    }
  };
  return { implementation: 'replaced' };
}

export const certificateFailFast = installCertificateFailFast();
