import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeySequence } from '../../../shared/tbptt/key-sequence.js';
import { KeyStore, type EvictionReason } from '../../../shared/tbptt/key-store.js';
import { StepRingBuffer } from '../../../shared/tbptt/step-ring-buffer.js';
import { truncatedSchedule } from '../../../shared/tbptt/window-schedule.js';

const make = (key: string): KeySequence =>
  new KeySequence({
    key,
    stateSize: 2,
    schedule: truncatedSchedule({ k1: 2, k2: 2 }),
    buffer: new StepRingBuffer({
      capacity: 2,
      inputKind: 'tokens',
      targetKind: 'class',
      featureSize: 0,
    }),
    initialToken: 0,
  });

test('keys idle longer than the TTL are evicted through the hook, recently seen ones stay', () => {
  const evicted: Array<[string, EvictionReason]> = [];
  const store = new KeyStore({
    ttlMs: 100,
    maxKeys: 10,
    onEvict: (k, r) => evicted.push([k.key, r]),
  });
  store.touch(make('old'), 0);
  store.touch(make('young'), 50);
  store.touch(store.get('old')!, 60); // seen again: now younger than 'young'
  assert.equal(store.evict(155), 1);
  assert.deepEqual(evicted, [['young', 'ttl']]);
  assert.ok(store.get('old'));
});

test('beyond maxKeys the least recently seen keys are evicted for capacity', () => {
  const evicted: string[] = [];
  const store = new KeyStore({
    ttlMs: 1e9,
    maxKeys: 2,
    onEvict: (k, r) => evicted.push(`${k.key}:${r}`),
  });
  for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) store.touch(make(key), i);
  store.evict(10);
  assert.deepEqual(evicted, ['a:capacity', 'b:capacity']);
  assert.equal(store.size, 2);
});

test('a key restored with an old last-seen time is evicted when its TTL is over, wherever it was restored', () => {
  const evicted: string[] = [];
  const store = new KeyStore({ ttlMs: 100, maxKeys: 10, onEvict: (k) => evicted.push(k.key) });
  store.touch(make('live'), 1_000);
  store.restore(make('restored-old'), 500); // restored after a younger key, but seen long ago
  store.restore(make('restored-recent'), 990);
  assert.equal(store.evictionDueInMs(1_000), 0, 'restored-old is already due');
  assert.equal(store.evict(1_000), 1);
  assert.deepEqual(evicted, ['restored-old']);
  assert.equal(store.evictionDueInMs(1_000), 90, 'next: restored-recent at 990 + 100');
  assert.equal(store.evict(1_095), 1);
  assert.deepEqual(evicted, ['restored-old', 'restored-recent']);
  assert.equal(store.evictionDueInMs(1_095), 5);
});

test('eviction is due at once beyond maxKeys, and never with no keys', () => {
  const store = new KeyStore({ ttlMs: 1e9, maxKeys: 1 });
  assert.equal(store.evictionDueInMs(0), undefined);
  store.touch(make('a'), 0);
  assert.equal(store.evictionDueInMs(0), 1e9);
  store.touch(make('b'), 1);
  assert.equal(store.evictionDueInMs(1), 0);
});
