/** The decoder's queue: dynamic batches by size or by the oldest item's wait, bounded, droppable. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RequestQueue, type QueuedItem } from '../../../services/decoder/request-queue.js';

const item = (partition = 0, id = 0): QueuedItem & { id: number } => ({
  partition,
  queuedAt: performance.now(),
  id,
});

test('a batch goes out as soon as maxBatchSize items wait, oldest first', async () => {
  const queue = new RequestQueue<ReturnType<typeof item>>({
    capacity: 10,
    maxBatchSize: 3,
    maxWaitMs: 60_000,
  });
  for (let i = 0; i < 5; i++) await queue.push(item(0, i));
  const t0 = performance.now();
  const batch = await queue.takeBatch();
  assert.ok(performance.now() - t0 < 1_000, 'not held for maxWaitMs');
  assert.deepEqual(
    batch.map((x) => x.id),
    [0, 1, 2],
  );
  assert.equal(queue.size, 2);
});

test('a partial batch goes out once its oldest item has waited maxWaitMs', async () => {
  const queue = new RequestQueue<ReturnType<typeof item>>({
    capacity: 10,
    maxBatchSize: 8,
    maxWaitMs: 30,
  });
  const taken = queue.takeBatch();
  await queue.push(item(0, 1));
  await queue.push(item(0, 2));
  const t0 = performance.now();
  const batch = await taken;
  assert.deepEqual(
    batch.map((x) => x.id),
    [1, 2],
  );
  assert.ok(performance.now() - t0 >= 20, 'it waited for more');
});

test('push waits while the queue is full and goes on when a batch is taken (back-pressure)', async () => {
  const queue = new RequestQueue<ReturnType<typeof item>>({
    capacity: 2,
    maxBatchSize: 2,
    maxWaitMs: 0,
  });
  await queue.push(item(0, 1));
  await queue.push(item(0, 2));
  let third = false;
  const pushing = queue.push(item(0, 3)).then(() => (third = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(third, false, 'held while full');
  assert.deepEqual(
    (await queue.takeBatch()).map((x) => x.id),
    [1, 2],
  );
  await pushing;
  assert.equal(queue.size, 1);
});

test('items of revoked partitions are dropped; close hands out the rest, then empty batches', async () => {
  const queue = new RequestQueue<ReturnType<typeof item>>({
    capacity: 10,
    maxBatchSize: 10,
    maxWaitMs: 60_000,
  });
  for (let i = 0; i < 6; i++) await queue.push(item(i % 2, i));
  assert.equal(queue.dropPartitions(new Set([1])), 3);
  queue.close();
  assert.deepEqual(
    (await queue.takeBatch()).map((x) => x.id),
    [0, 2, 4],
  );
  assert.deepEqual(await queue.takeBatch(), []);
  assert.equal(await queue.push(item(0, 9)), false, 'a closed queue takes nothing');
});

test('a capacity below the batch size is refused with the fix', () => {
  assert.throws(
    () => new RequestQueue({ capacity: 4, maxBatchSize: 8, maxWaitMs: 1 }),
    /capacity 4 is below maxBatchSize 8.*fix: raise decoder.maxQueuedRequests/,
  );
});
