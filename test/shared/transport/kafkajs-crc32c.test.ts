import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

import { kafkajsCrc32c } from '../../../shared/transport/kafka/kafkajs.js';

const require = createRequire(import.meta.url);

/** kafkajs' own byte-at-a-time CRC-32C (reflected Castagnoli polynomial), the reference. */
function tableCrc32c(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0x82f63b78 ^ (crc >>> 1) : crc >>> 1;
  }
  return ~crc >>> 0;
}

test('kafkajs record batches are checksummed by the native CRC-32C, with the values of its own', () => {
  assert.deepEqual(kafkajsCrc32c, { implementation: 'native' });
  const recordBatchCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
    buffer: Buffer,
  ) => number;
  assert.equal(recordBatchCrc(Buffer.from('123456789')), 0xe3069283); // the standard check value
  for (const size of [0, 1, 7, 8, 4096, 100_003]) {
    const bytes = randomBytes(size);
    assert.equal(recordBatchCrc(bytes), tableCrc32c(bytes), `${size} bytes`);
    assert.equal(recordBatchCrc(bytes.subarray(3)), tableCrc32c(bytes.subarray(3)));
  }
});
