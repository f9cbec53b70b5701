import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';

import {
  createSocketFactory,
  ResponseAssembler,
  type KafkaResponseFrame,
} from '../../../shared/transport/kafka/response-assembler.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createKafkaClient } from '../../../shared/transport/kafka/index.js';
import { responseAssembly } from '../../../shared/transport/kafka/kafkajs.js';

/** Kafka framing: int32 size, then the correlation id and the payload. */
function frame(correlationId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(payload.length + 4, 0);
  head.writeInt32BE(correlationId, 4);
  return Buffer.concat([head, payload]);
}

const simple = (frames: KafkaResponseFrame[]) =>
  frames.map((f) => ({ size: f.size, id: f.correlationId, payload: f.payload.toString('hex') }));

test('responses cut at every possible byte come out whole, in order, with their correlation ids', () => {
  const payloads = [randomBytes(0), randomBytes(1), randomBytes(37), randomBytes(300)];
  const stream = Buffer.concat(payloads.map((p, i) => frame(i + 7, p)));
  const expected = payloads.map((p, i) => ({
    size: p.length + 4,
    id: i + 7,
    payload: p.toString('hex'),
  }));
  for (let cut = 0; cut <= stream.length; cut++) {
    const got: KafkaResponseFrame[] = [];
    const assembler = new ResponseAssembler();
    assembler.push(stream.subarray(0, cut), (f) => got.push(f));
    assembler.push(stream.subarray(cut), (f) => got.push(f));
    assert.deepEqual(simple(got), expected, `cut at ${cut}`);
  }
  // One byte at a time, from a buffer that is overwritten after every push (as a socket's is).
  const got: KafkaResponseFrame[] = [];
  const assembler = new ResponseAssembler();
  const reused = Buffer.alloc(1);
  for (const byte of stream) {
    reused[0] = byte;
    assembler.push(reused, (f) => got.push(f));
    reused[0] = 0xff;
  }
  assert.deepEqual(simple(got), expected);
});

test('a size too short for a correlation id, or absurdly large, is an error that says what the peer is not', () => {
  const assembler = new ResponseAssembler();
  const bad = Buffer.alloc(8);
  bad.writeInt32BE(2, 0);
  assert.throws(() => assembler.push(bad, () => {}), /2 bytes: too short.*not a Kafka broker/);
  const huge = Buffer.alloc(4);
  huge.writeInt32BE(0x7fffffff, 0);
  assert.throws(
    () => new ResponseAssembler().push(huge, () => {}),
    /2147483647 bytes: over 1073741824 bytes \(a broken connection/,
    'taken for a broken stream, not allocated',
  );
});

test('kafkajs connections are patched to assemble responses this way', () => {
  assert.deepEqual(responseAssembly, { implementation: 'replaced' });
});

test('the socket factory reads into one reused buffer and hands out views of what arrived', async () => {
  const chunks = [randomBytes(100_000), randomBytes(3), randomBytes(700_000)];
  const server = net.createServer((socket) => {
    for (const c of chunks) socket.write(c);
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const received: Buffer[] = [];
    const seenBuffers = new Set<ArrayBufferLike>();
    await new Promise<void>((resolve, reject) => {
      const socket = createSocketFactory()({ host: '127.0.0.1', port, onConnect: () => {} });
      socket.on('data', (data: Buffer) => {
        seenBuffers.add(data.buffer);
        received.push(Buffer.from(data)); // copied at once, as the assembler does
      });
      socket.on('end', resolve);
      socket.on('error', reject);
    });
    assert.ok(Buffer.concat(received).equals(Buffer.concat(chunks)), 'every byte, in order');
    assert.equal(seenBuffers.size, 1, 'all reads landed in the same buffer');
  } finally {
    server.close();
  }
});

test('a peer that answers with a broken stream fails the request with a connection error, and the process lives on', async () => {
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      const bad = Buffer.alloc(8);
      bad.writeInt32BE(2, 0); // a response too short for its correlation id
      socket.write(bad);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const client = createKafkaClient({
    clientId: 'broken-peer-test',
    brokers: `127.0.0.1:${port}`,
    logger: createLogger({ name: 'test', level: 'fatal' }),
    retries: 0,
    connectionTimeoutMs: 2_000,
  });
  const admin = client.kafka.admin();
  try {
    await assert.rejects(
      admin.connect(),
      /Connection error: Kafka response of 2 bytes: too short for a correlation id/,
    );
  } finally {
    await admin.disconnect().catch(() => {});
    server.close();
  }
});
