/**
 * kafkajs, loaded with a native CRC-32C for its record batches. kafkajs checksums every batch it
 * produces in JavaScript, one table lookup per byte: about 55 ms for the 22 MB of a 5.6 M-parameter
 * version or gradient, ~10 % of a paramserver round and a large part of a worker transaction
 * (BENCHMARKS.md). `@node-rs/crc32` does it in ~4 ms. kafkajs has no option for this, so the module
 * it requires for the checksum is put into the require cache before kafkajs loads; when that is
 * not possible (the native package is missing for this platform, or kafkajs was already loaded
 * elsewhere, or moved the file) kafkajs keeps its own. Import kafkajs through this module only.
 */
import Module, { createRequire } from 'node:module';
import path from 'node:path';

import type * as KafkaJS from 'kafkajs';

const require = createRequire(import.meta.url);

/** Which CRC-32C kafkajs' record batches use: the native one, or kafkajs' JavaScript table. */
export type KafkajsCrc32c =
  | { readonly implementation: 'native' }
  | { readonly implementation: 'kafkajs'; readonly reason: string };

function installNativeCrc32c(): KafkajsCrc32c {
  const kafkajsDir = path.dirname(require.resolve('kafkajs/package.json'));
  const target = path.join(kafkajsDir, 'src', 'protocol', 'recordBatch', 'crc32C', 'crc32C.js');
  if (require.cache[require.resolve('kafkajs')] !== undefined)
    return { implementation: 'kafkajs', reason: 'kafkajs was loaded before this module' };
  let native: (input: Uint8Array, initial?: number) => number;
  try {
    native = (require('@node-rs/crc32') as { crc32c: typeof native }).crc32c;
  } catch (error) {
    return {
      implementation: 'kafkajs',
      reason: `@node-rs/crc32 does not load on ${process.platform}-${process.arch}: ${(error as Error).message}`,
    };
  }
  try {
    require.resolve(target);
  } catch {
    return { implementation: 'kafkajs', reason: `kafkajs has no ${target} (a newer layout)` };
  }
  const module = new Module(target);
  module.filename = target;
  module.loaded = true;
  // kafkajs' contract for this file: (buffer) => the CRC-32C as a (possibly signed) 32-bit number.
  module.exports = (buffer: Uint8Array) => native(buffer);
  require.cache[target] = module;
  return { implementation: 'native' };
}

export const kafkajsCrc32c: KafkajsCrc32c = installNativeCrc32c();

const kafkajs = require('kafkajs') as typeof KafkaJS;
export default kafkajs;
