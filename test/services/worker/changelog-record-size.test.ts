import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeKeyState,
  encodeKeyState,
  keyStateBytesBound,
  MAX_KEY_STATE_RECORD_BYTES,
} from '../../../shared/codec/index.js';
import { modelSpecFromConfig, parseConfig, type Config } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { createLearner } from '../../../shared/learner/create-learner.js';
import { encodeEvent } from '../../../shared/learner/event-encoder.js';
import {
  keyStateRecordOf,
  snapshotOfKeyState,
  stepLayoutOf,
} from '../../../shared/learner/key-state-mapping.js';
import { stateSize, type TaskType } from '../../../shared/model/model-spec.js';
import { windowScheduleFor } from '../../../shared/tbptt/window-schedule.js';
import { checkKeyStateRecordSize } from '../../../services/worker/changelog-records.js';
import { CapturingSink } from '../../support/capture-sink.js';

function classifyConfig(overrides: object = {}): Config {
  return parseConfig(
    {
      task: { type: 'classify', labels: ['ham', 'spam'] },
      model: { hidden: 24, embedding: 8 },
      ...overrides,
    },
    { source: 'test' },
  );
}

function scheduleOf(config: Config) {
  return windowScheduleFor(config.task.type as TaskType, {
    ...config.tbptt,
    maxSequenceSteps: config.task.maxSequenceSteps,
  });
}

test('a classify key holding a full 4096-step sequence fits one changelog record, which restores it exactly', async () => {
  await selectBackend({ requested: 'auto' });
  const config = classifyConfig();
  const spec = modelSpecFromConfig(config);
  const schedule = scheduleOf(config);
  assert.equal(schedule.bufferSteps, 4096);
  const bound = checkKeyStateRecordSize({ config, spec, schedule });
  assert.ok(bound <= MAX_KEY_STATE_RECORD_BYTES);

  // Two learners on the same parameters; gradients are captured, never applied.
  const open = () => {
    const sink = new CapturingSink();
    const learner = createLearner({ config, gradientSink: () => sink });
    return { sink, learner, space: learner.openKeySpace() };
  };
  const whole = open();
  const restored = open();
  const keys = ['mail-1', 'mail-2', 'mail-3', 'mail-4'];
  const length = 4500; // past the cap: the buffer is full and states are kept along the way
  const events = Array.from({ length: length * keys.length }, (_, i) => {
    const step = Math.floor(i / keys.length);
    return {
      key: keys[i % keys.length]!,
      token: String.fromCharCode(32 + ((step * 31 + i) % 95)),
      eos: step === length - 1,
      ...(step === length - 1 ? { label: i % 2 ? 'spam' : 'ham' } : {}),
    };
  });
  const encode = (space: typeof whole.space, from: number, to: number) =>
    events.slice(from, to).map((event, k) =>
      encodeEvent({
        event,
        line: from + k + 1,
        index: from + k,
        spec,
        tokens: whole.learner.tokenizer,
        labels: whole.learner.labels,
        normalizer: space.normalizer,
      }),
    );
  const cut = (length - 1) * keys.length; // every key at 4499 steps, none at its eos yet
  const expected = await whole.space.learner.process(encode(whole.space, 0, events.length));
  const before = await restored.space.learner.process(encode(restored.space, 0, cut));
  assert.equal(restored.sink.received.length, 0, 'classify trains nothing before eos');

  // Through the codec, as the worker writes and restores them.
  const layout = stepLayoutOf(spec);
  const records = restored.space.learner.drainChangedKeys().map((key) => {
    const bytes = encodeKeyState(
      keyStateRecordOf({ snapshot: key.toSnapshot(), layout, inputOffset: cut - 1, tsMs: 0 }),
    );
    assert.ok(bytes.length <= bound, `record of ${bytes.length} bytes, bound ${bound}`);
    return decodeKeyState(bytes);
  });
  assert.equal(records.length, keys.length);
  for (const record of records) {
    assert.equal(record.steps.count, 4096, 'the full cap is stored');
    assert.ok(record.snapshots.length <= schedule.maxWindowStarts);
  }
  const fresh = open();
  for (const record of records) fresh.space.learner.restoreKey(snapshotOfKeyState(record));
  const after = await fresh.space.learner.process(encode(fresh.space, cut, events.length));

  assert.deepEqual(
    [...before, ...after].map((p) => p.confidence),
    expected.map((p) => p.confidence),
  );
  // The eos windows (the 3988 steps from the kept state at 512 to the eos at 4500) give the same gradient.
  await whole.space.learner.finish();
  await fresh.space.learner.finish();
  assert.equal(whole.sink.received.length, 1);
  assert.equal(fresh.sink.received.length, 1);
  for (const [name, g] of whole.sink.received[0]!.gradients)
    assert.deepEqual(fresh.sink.received[0]!.gradients.get(name), g, name);
  for (const l of [whole, restored, fresh]) l.learner.dispose();
});

test('the record bound holds for a features key with every field at its largest', () => {
  const F = 5;
  const S = 12;
  const steps = 300;
  const key = 'k'.repeat(4096);
  const floats = (n: number) => Float32Array.from({ length: n }, (_, i) => -1e30 * (i + 1));
  const record = {
    key,
    state: floats(S),
    snapshots: Array.from({ length: 3 }, (_, i) => ({
      position: Number.MAX_SAFE_INTEGER - i,
      state: floats(S),
    })),
    steps: {
      inputKind: 'features' as const,
      targetKind: 'class' as const,
      featureSize: F,
      count: steps,
      inputFeatures: floats(steps * F),
      classTargets: Int32Array.from({ length: steps }, () => 2 ** 31 - 1),
      hasLoss: new Uint8Array(steps).fill(1),
    },
    position: Number.MAX_SAFE_INTEGER,
    pending: Number.MAX_SAFE_INTEGER,
    closing: true,
    previousToken: Number.MAX_SAFE_INTEGER,
    previousFeatures: floats(F),
    paramVersion: Number.MAX_SAFE_INTEGER,
    inputOffset: Number.MAX_SAFE_INTEGER,
    tsMs: Number.MAX_SAFE_INTEGER,
    lastSeenMs: Number.MAX_SAFE_INTEGER,
  };
  const bytes = encodeKeyState(record).length;
  const bound = keyStateBytesBound({
    keyBytes: key.length,
    stateFloats: S,
    windowStarts: 3,
    steps,
    inputKind: 'features',
    targetKind: 'class',
    featureSize: F,
  });
  assert.ok(bytes <= bound, `${bytes} encoded bytes above the bound ${bound}`);
  assert.ok(bound < 1.1 * bytes, `the bound ${bound} is not loose (encoded ${bytes})`);
});

test('a worker refuses a classify configuration whose key state would not fit a Kafka record, and names the cap that fits', () => {
  const config = classifyConfig({
    input: { kind: 'features', featureSize: 64 },
    limits: { maxFeatures: 64 },
  });
  const spec = modelSpecFromConfig(config);
  const schedule = scheduleOf(config);
  assert.throws(
    () => checkKeyStateRecordSize({ config, spec, schedule }),
    (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /task\.maxSequenceSteps = 4096/);
      const fits = Number(/lower task\.maxSequenceSteps to (\d+) or less/.exec(error.message)![1]);
      // 64 floats in, a class id and a loss flag out per step, the states and the key besides.
      const perStep = 64 * 4 + 5 + 1;
      const states = (schedule.maxWindowStarts + 1) * stateSize(spec) * 4;
      assert.ok(fits * perStep + states < MAX_KEY_STATE_RECORD_BYTES);
      assert.ok((fits + 40) * perStep + states > MAX_KEY_STATE_RECORD_BYTES);
      return true;
    },
  );
});
