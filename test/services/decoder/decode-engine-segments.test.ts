/**
 * The decode engine with a bidirectional classifier, on key states as a worker leaves them: a key
 * whose segment is complete (eos seen, not yet learned from) is classified from its whole segment
 * — the distribution the worker predicted at that eos — and a key whose segment is still open is
 * refused with the reason and the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeEngine, type EngineJob } from '../../../services/decoder/decode-engine.js';
import type { DecodeItem } from '../../../services/decoder/request-intake.js';
import type { KeyStateLookup } from '../../../services/decoder/state-view.js';
import { parseConfig } from '../../../shared/config/index.js';
import { tf } from '../../../shared/engine/tf.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import { createLearner } from '../../../shared/learner/create-learner.js';
import { encodeEvent } from '../../../shared/learner/event-encoder.js';
import { createLogger } from '../../../shared/logging/index.js';

const config = parseConfig(
  {
    task: { type: 'classify', labels: ['ham', 'spam'] },
    input: { tokenizer: 'ids', vocabSize: 8 },
    model: { cell: 'lstm', layers: 2, hidden: 5, embedding: 3, bidirectional: true },
    // Ready keys wait for a full step: the closed segment stays in the key state, untrained.
    tbptt: { maxKeys: 64, maxWaitMs: 1_000_000 },
  },
  { source: 'decode-engine-segments-test' },
);

test('bidirectional classify in the decode engine: a complete segment of a key is classified whole, as the worker did at its eos; an open one is refused', async () => {
  await tf.setBackend('cpu');
  const learner = createLearner({ config, gradientSink: () => ({ submit: () => {} }) });
  const { learner: stream, normalizer } = learner.openKeySpace();
  const events: StreamEvent[] = [
    ...[3, 1, 4, 1, 5].map((token, t) => ({
      key: 'done',
      token,
      eos: t === 4,
      ...(t === 4 ? { label: 'spam' } : {}),
    })),
    ...[2, 7].map((token) => ({ key: 'open', token, eos: false })),
  ];
  const predictions = await stream.process(
    events.map((event, index) =>
      encodeEvent({
        event,
        index,
        spec: learner.spec,
        tokens: learner.tokenizer,
        labels: learner.labels,
        normalizer,
      }),
    ),
  );
  const atEos = predictions.find((p) => p.eos)!;
  assert.equal(predictions.length, 5, 'the closed segment is predicted, the open one not yet');

  const freshness = {
    partition: 0,
    changelogOffset: 0,
    keyInputOffset: 0,
    eventsOffset: 0,
    position: 0,
    stateParamVersion: 0,
  };
  const engine = new DecodeEngine({
    model: learner.model,
    spec: learner.spec,
    tokenizer: learner.tokenizer,
    labels: learner.labels,
    stateView: {
      lookup: (key: string): KeyStateLookup | undefined => {
        const sequence = stream.store.get(key);
        return sequence && { snapshot: sequence.toSnapshot(), freshness };
      },
      normalizer: () => undefined,
    },
    now: () => 0,
    sendPartials: async () => {},
    logger: createLogger({ name: 'decode-engine-segments-test', level: 'error' }),
  });
  const job = (key: string): EngineJob => {
    const request = { requestId: key, key, ask: { kind: 'classify' as const, events: [] } };
    const work = { task: 'classify' as const, events: [] };
    return { item: { partition: 0 } as unknown as DecodeItem, request, work };
  };
  const jobs = [job('done'), job('open')];
  const results = await engine.compute(jobs, { version: 0 });
  const done = results.get(jobs[0]!.item)!;
  assert.equal(done.error, undefined, done.error);
  assert.equal(done.labels!.length, 1);
  assert.equal(done.labels![0]!.value, atEos.label);
  assert.ok(Math.abs(done.labels![0]!.confidence - atEos.confidence!) < 1e-6);
  const open = results.get(jobs[1]!.item)!;
  assert.equal(open.errorCode, 'invalid_request');
  assert.match(
    open.error!,
    /key "open" has an unfinished segment \(2 steps, no eos yet\).*fix: send the segment's remaining events/,
  );
  learner.dispose();
});
