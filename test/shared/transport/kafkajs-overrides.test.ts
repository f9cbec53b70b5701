import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

import {
  groupMessagesPerPartition,
  kafkajsOverrides,
} from '../../../shared/transport/kafka/kafkajs.js';

const require = createRequire(import.meta.url);
const KAFKAJS_SRC = path.join(path.dirname(require.resolve('kafkajs/package.json')), 'src');

/** kafkajs' own byte-at-a-time CRC-32C (reflected Castagnoli polynomial), the reference. */
function tableCrc32c(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0x82f63b78 ^ (crc >>> 1) : crc >>> 1;
  }
  return ~crc >>> 0;
}

/** A kafkajs source file evaluated on its own, bypassing the require cache (the original). */
function originalKafkajsModule(file: string): unknown {
  const module = { exports: {} as unknown };
  vm.runInThisContext(
    `(function (module, exports, require) {${readFileSync(path.join(KAFKAJS_SRC, file), 'utf8')}\n})`,
  )(module, module.exports, require);
  return module.exports;
}

test('kafkajs record batches are checksummed by the native CRC-32C, with the values of its own', () => {
  assert.deepEqual(kafkajsOverrides.crc32c, { implementation: 'replaced' });
  const recordBatchCrc = require(
    path.join(KAFKAJS_SRC, 'protocol/recordBatch/crc32C/index.js'),
  ) as (buffer: Buffer) => number;
  assert.equal(recordBatchCrc(Buffer.from('123456789')), 0xe3069283); // the standard check value
  for (const size of [0, 1, 7, 8, 4096, 100_003]) {
    const bytes = randomBytes(size);
    assert.equal(recordBatchCrc(bytes), tableCrc32c(bytes), `${size} bytes`);
    assert.equal(recordBatchCrc(bytes.subarray(3)), tableCrc32c(bytes.subarray(3)));
  }
});

test('kafkajs groups a send by partition in linear time, with the groups its own code makes', () => {
  assert.deepEqual(kafkajsOverrides.groupMessagesPerPartition, { implementation: 'replaced' });
  const original = originalKafkajsModule('producer/groupMessagesPerPartition.js') as (
    options: Parameters<typeof groupMessagesPerPartition>[0],
  ) => Record<number, unknown[]>;
  const partitionMetadata = [0, 1, 2, 3, 4].map((partitionId) => ({ partitionId }));
  const messages = Array.from({ length: 2_000 }, (_, i) => ({ key: `k${(i * 7919) % 97}`, i }));
  const partitioner = ({ message }: { message: unknown }) =>
    Number((message as { key: string }).key.slice(1)) % 5;
  const options = { topic: 't', partitionMetadata, messages, partitioner };
  assert.deepEqual(groupMessagesPerPartition(options), original(options));
  assert.deepEqual(groupMessagesPerPartition({ ...options, partitionMetadata: [] }), {});
  const inUse = require(path.join(KAFKAJS_SRC, 'producer/groupMessagesPerPartition.js')) as unknown;
  assert.equal(inUse, groupMessagesPerPartition, 'kafkajs requires the replacement');
});
