/**
 * A bidirectional key's open segment survives a restart: its snapshot, through the KeyState
 * bytes a changelog holds, restores into a fresh learner that predicts the whole segment at its
 * eos exactly as the uninterrupted learner does, each step naming its own event. A snapshot whose
 * steps do not name their events is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKeyState, encodeKeyState } from '../../../shared/codec/key-state-codec.js';
import { parseConfig } from '../../../shared/config/index.js';
import { tf } from '../../../shared/engine/tf.js';
import { ShapeError } from '../../../shared/errors/index.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import { createLearner } from '../../../shared/learner/create-learner.js';
import { encodeEvent } from '../../../shared/learner/event-encoder.js';
import {
  keyStateRecordOf,
  snapshotOfKeyState,
  stepLayoutOf,
} from '../../../shared/learner/key-state-mapping.js';

const config = parseConfig(
  {
    task: { type: 'tag', labels: ['x', 'y'], maxSequenceSteps: 16 },
    input: { tokenizer: 'ids', vocabSize: 6 },
    model: { cell: 'gru', layers: 2, hidden: 5, embedding: 3, bidirectional: true },
  },
  { source: 'segment-restore-test' },
);

const events: StreamEvent[] = Array.from({ length: 14 }, (_, i) => ({
  key: i % 2 === 0 ? 'a' : 'b',
  token: (i * 5) % 6,
  label: i % 3 === 0 ? 'x' : 'y',
  eos: i === 12 || i === 13,
}));

function keySpace() {
  const learner = createLearner({ config });
  const { learner: stream, normalizer } = learner.openKeySpace();
  const encode = (list: StreamEvent[], from: number) =>
    list.map((event, i) =>
      encodeEvent({
        event,
        index: from + i,
        line: from + i + 1,
        spec: learner.spec,
        tokens: learner.tokenizer,
        labels: learner.labels,
        normalizer,
      }),
    );
  return { learner, stream, encode };
}

test('an open bidirectional segment restored from its changelog bytes is predicted whole at eos, as without the restart', async () => {
  await tf.setBackend('cpu');
  const whole = keySpace();
  const expected = await whole.stream.process(whole.encode(events, 0));
  assert.equal(expected.length, events.length, 'every event is predicted once its segment ends');

  const first = keySpace();
  assert.deepEqual(await first.stream.process(first.encode(events.slice(0, 8), 0)), []);
  const layout = stepLayoutOf(first.learner.spec);
  const records = first.stream
    .drainChangedKeys()
    .map((key) =>
      decodeKeyState(
        encodeKeyState(
          keyStateRecordOf({ snapshot: key.toSnapshot(), layout, inputOffset: 7, tsMs: 0 }),
        ),
      ),
    );
  assert.deepEqual(
    records.map((r) => [r.key, r.steps.count, [...r.steps.eventIndexes!]]),
    [
      ['a', 4, [0, 2, 4, 6]],
      ['b', 4, [1, 3, 5, 7]],
    ],
  );
  // The parameters are the same (seeded, nothing trained); the buffered segments come back.
  const second = keySpace();
  for (const record of records) second.stream.restoreKey(snapshotOfKeyState(record));
  const after = await second.stream.process(second.encode(events.slice(8), 8));
  const pick = (p: (typeof expected)[number]) => [
    p.key,
    p.index,
    p.line,
    p.label,
    p.confidence,
    p.actual,
    p.eos,
  ];
  assert.deepEqual(after.map(pick), expected.map(pick));

  // A record whose steps do not name their events cannot be resumed: refused, the key starts afresh.
  const anonymous = snapshotOfKeyState({
    ...records[0]!,
    steps: { ...records[0]!.steps, eventIndexes: undefined, eventLines: undefined },
  });
  const third = keySpace();
  assert.throws(() => third.stream.restoreKey(anonymous), ShapeError);
  assert.throws(() => third.stream.restoreKey(anonymous), /has no event index/);
  for (const s of [whole, first, second, third]) s.learner.dispose();
});
