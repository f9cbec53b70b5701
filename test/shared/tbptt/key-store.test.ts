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
