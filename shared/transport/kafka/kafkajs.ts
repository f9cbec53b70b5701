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
 * the require cache under the files kafkajs requires, before kafkajs loads. Where that is not
 * possible (the native package is missing for this platform, kafkajs was already loaded
 * elsewhere, or moved a file) kafkajs keeps its own. Import kafkajs through this module only.
 */
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

function override(file: string, load: () => unknown): KafkajsOverride {
  const target = kafkajsFile(file);
  if (require.cache[require.resolve('kafkajs')] !== undefined)
    return { implementation: 'kafkajs', reason: 'kafkajs was loaded before this module' };
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
