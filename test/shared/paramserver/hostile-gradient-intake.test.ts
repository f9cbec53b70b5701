import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { CodecError } from '../../../shared/codec/codec-error.js';
import type { TensorValue } from '../../../shared/codec/tensor-codec.js';
import { tf } from '../../../shared/engine/tf.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createMetricsRegistry } from '../../../shared/metrics/index.js';
import { createParamserverMetrics } from '../../../shared/metrics/paramserver-metrics.js';
import {
  GradientIntake,
  ParameterServer,
  type GradientRecordIn,
} from '../../../shared/paramserver/index.js';
import { gradientMessageRecords } from '../../../shared/paramserver-client/index.js';
import type { KafkaBusRecord } from '../../../shared/transport/kafka/index.js';
import { createRecordHandler } from '../../../services/paramserver/record-handler.js';
import { hostileVariants, junkBytes, SEED, typedOutcome } from '../../support/hostile-bytes.js';
import { initialState, randomTensors, serverOptions } from '../../support/paramserver/gradients.js';

const MAX_PENDING_BYTES = 64 * 1024;

/** The chunk values of one gradient of the tiny model (6 + 3 floats), in chunks of `size` bytes. */
const chunksOf = (workerId: string, step: number, paramVersion: number, size: number) => {
  const tensors = randomTensors(step);
  const message = { workerId, step, paramVersion, tokens: 3, lossSum: 1.5, tensors };
  const values = gradientMessageRecords({ message, maxChunkBytes: size }).map((r) => r.value!);
  return { message, values };
};

/** Hostile records: junk, and mutations of the chunks of a gradient no test expects. */
const decoy = chunksOf('decoy-worker-of-another-length', 1, 0, 12).values;
const hostileRecord = fc.oneof(
  junkBytes,
  fc.constantFrom(...decoy).chain((chunk) => hostileVariants(chunk)),
);

/** Records of valid gradients interleaved with hostile ones, as one partition delivers them. */
const streamArb = fc.record({
  gradients: fc.uniqueArray(
    fc.tuple(fc.constantFrom('worker-a', 'worker-b'), fc.integer({ min: 1, max: 50 })),
    { selector: ([w, s]) => `${w}/${s}`, minLength: 1, maxLength: 4 },
  ),
  chunkBytes: fc.integer({ min: 10, max: 60 }),
  hostile: fc.array(fc.tuple(fc.nat(), hostileRecord), { maxLength: 12 }),
});

function interleave(valid: Uint8Array[], hostile: Array<[number, Uint8Array]>): Uint8Array[] {
  const out = [...valid];
  for (const [at, bytes] of hostile) out.splice(at % (out.length + 1), 0, bytes);
  return out;
}

const records = (values: Uint8Array[]): GradientRecordIn[] =>
  values.map((value, offset) => ({ partition: 0, offset, nextOffset: offset + 1, value }));

test('among hostile records, every valid gradient comes out of the intake exactly once and intact; nothing is thrown', () => {
  fc.assert(
    fc.property(streamArb, ({ gradients, chunkBytes, hostile }) => {
      const sent = gradients.map(([w, s]) => chunksOf(w, s, 0, chunkBytes));
      const seen = new Set<string>();
      const intake = new GradientIntake({
        isSeen: (w, s) => seen.has(`${w}/${s}`),
        startOffsets: [{ partition: 0, offset: 0 }],
        assembler: { maxPendingBytes: MAX_PENDING_BYTES },
      });
      const stream = records(
        interleave(
          sent.flatMap((g) => g.values),
          hostile,
        ),
      );
      const received = new Map<string, Map<string, TensorValue>>();
      for (const record of stream) {
        const result = typedOutcome(() => intake.add(record), []);
        assert.ok(result);
        if (result.kind === 'rejected') assert.ok(result.error instanceof CodecError);
        if (result.kind === 'gradient' && result.gradient.workerId.startsWith('worker-')) {
          const id = `${result.gradient.workerId}/${result.gradient.step}`;
          assert.ok(!received.has(id), `${id} twice`);
          received.set(id, result.gradient.tensors);
          seen.add(id);
        }
        assert.ok(intake.pendingBytes <= MAX_PENDING_BYTES);
      }
      for (const { message } of sent) {
        const got = received.get(`${message.workerId}/${message.step}`);
        assert.ok(got, `${message.workerId}/${message.step} arrived`);
        assert.deepEqual(got, message.tensors);
      }
      // Every valid set completed: the intake holds no position of theirs back.
      const [resume] = intake.resumeOffsets();
      assert.ok(resume!.offset <= stream.length);
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('the record handler counts and skips hostile records and still accepts the valid gradient among them', async () => {
  await tf.setBackend('cpu');
  const log = createLogger({ name: 'test', level: 'silent' });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), hostileRecord), { maxLength: 10 }), (hostile) => {
      const registry = createMetricsRegistry({ defaultMetrics: false });
      const metrics = createParamserverMetrics(registry);
      const server = ParameterServer.create({ options: serverOptions(), state: initialState() });
      try {
        const intake = new GradientIntake({
          isSeen: (w, s) => server.hasSeen(w, s),
          startOffsets: [],
        });
        const handle = createRecordHandler({ server, intake, metrics, log });
        const { values } = chunksOf('worker-a', 1, 0, 16);
        let accepted = 0;
        for (const record of records(interleave(values, hostile))) {
          const bus = { ...record, topic: 'g', key: 'k', tombstone: false, timestampMs: 0 };
          if (typedOutcome(() => handle(bus satisfies KafkaBusRecord), [])) accepted++;
        }
        assert.equal(accepted, 1);
        assert.equal(server.pendingPositions().length, 1);
      } finally {
        server.dispose();
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
});
