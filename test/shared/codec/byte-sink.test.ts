import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegionSink } from '../../../shared/codec/byte-sink.js';

test('a region sink writes varints and bytes across region boundaries in order', () => {
  const backing = new Uint8Array(12).fill(0xee);
  const regions = [backing.subarray(0, 3), backing.subarray(3, 3), backing.subarray(4, 12)];
  const sink = createRegionSink(regions);
  sink.varint(300); // 0xac 0x02
  sink.bytes(Uint8Array.of(1, 2, 3, 4, 5));
  assert.equal(sink.written, 7);
  // 2^35 takes 6 varint bytes; 4 are left.
  assert.throws(() => sink.varint(2 ** 35), /byte sink full after 11 bytes/);
  assert.deepEqual([...backing.subarray(0, 3)], [0xac, 0x02, 1]);
  assert.equal(backing[3], 0xee, 'the gap between regions is not written');
  assert.deepEqual([...backing.subarray(4, 8)], [2, 3, 4, 5]);
});
