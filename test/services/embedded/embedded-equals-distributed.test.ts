import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { runEmbedded } from '../../../services/embedded/run-embedded.js';
import { produceEvents } from '../../../services/produce/index.js';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import type { Prediction } from '../../../shared/events/prediction.js';
import { DEFAULT_MODEL_ID } from '../../../shared/paramserver-client/index.js';
import { topicNames } from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { useTestKafka } from '../../support/kafka/client.js';
import {
  createAppTopics,
  predictionsOf,
  readTopic,
  readTopicUntil,
  spawnWorker,
  writeConfig,
} from '../../support/kafka/worker-harness.js';
import { spawnParamserver, versionsOnTopic } from '../../support/paramserver/harness.js';
import { memoryLogger, tempDir } from '../../support/run-helpers.js';

const kafka = useTestKafka('embedded-equals-distributed');

const KEYS = 5;
const STEPS_PER_KEY = 120;
const TEXT = 'it was the best of times, it was the worst of times, it was the age of wisdom, ';

/** Every key reads the text from its own offset, interleaved round-robin. */
function events(): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (let i = 0; i < STEPS_PER_KEY; i++)
    for (let k = 0; k < KEYS; k++)
      out.push({ key: `doc-${k}`, token: TEXT[(i + 11 * k) % TEXT.length]!, eos: false });
  return out;
}

/**
 * Windows train exactly when a ready key's next event arrives (maxKeys above the number of keys
 * and a maxWaitMs no wait within the stream reaches), so where a step falls never depends on
 * batching or timing. The stream ends with every key ready (120 = 30 × k1): the embedded run trains
 * them at the end of its input, the worker when their maxWaitMs is over — the same last step. The
 * gradient is sent as float32. Clipping and a warm-up schedule are on, so they are compared too.
 */
const CONFIG = {
  backend: 'cpu',
  model: { cell: 'lstm', hidden: 12, embedding: 6 },
  tbptt: { k1: 4, k2: 8, maxKeys: 64, maxWaitMs: 8_000 },
  optimizer: {
    type: 'adam',
    learningRate: 0.02,
    schedule: { warmupSteps: 5, decay: 'cosine', decaySteps: 60, minLearningRate: 0.002 },
  },
  clip: { globalNorm: 0.5 },
  paramserver: { mode: 'sync', minWorkers: 1, gradientEncoding: 'float32' },
  seed: 9,
};

/**
 * classify: sequences of 9 to 40 steps, the label at eos (said by the sequence's first byte), so
 * each key trains once per sequence, through the whole sequence, in chunks of 8 steps. Sequences
 * end at different events, so training steps take one or several keys, of one or several chunk
 * counts. Every key ends its last sequence at the stream's end (ready, trained at the end).
 */
function classifyEvents(): StreamEvent[] {
  const perKey = Array.from({ length: KEYS }, (_, k) => {
    const out: StreamEvent[] = [];
    let s = 0;
    while (out.length < STEPS_PER_KEY) {
      const length = Math.min(9 + ((s * 13 + k * 7) % 32), STEPS_PER_KEY - out.length);
      for (let t = 0; t < length; t++) {
        const token = TEXT[(out.length + 11 * k) % TEXT.length]!;
        const eos = t === length - 1;
        out.push({
          key: `mail-${k}`,
          token,
          eos,
          ...(eos ? { label: (s + k) % 3 === 0 ? 'spam' : 'ham' } : {}),
        });
      }
      s++;
    }
    return out;
  });
  const out: StreamEvent[] = [];
  for (let i = 0; i < STEPS_PER_KEY; i++) for (const list of perKey) out.push(list[i]!);
  return out;
}

const CLASSIFY_CONFIG = {
  ...CONFIG,
  task: { type: 'classify', labels: ['ham', 'spam'] },
  tbptt: { ...CONFIG.tbptt, chunkSteps: 8 },
};

/**
 * tag with a bidirectional model: segments of 5 to 20 steps, every step labelled by its segment's
 * last byte class (a letter or not), so each key buffers a segment, predicts all its steps at its
 * eos and trains on it then. Every key ends its last segment at the stream's end.
 */
function segmentEvents(): StreamEvent[] {
  const perKey = Array.from({ length: KEYS }, (_, k) => {
    const out: StreamEvent[] = [];
    let s = 0;
    while (out.length < STEPS_PER_KEY) {
      const length = Math.min(5 + ((s * 7 + k * 5) % 16), STEPS_PER_KEY - out.length);
      const tokens = Array.from(
        { length },
        (_, t) => TEXT[(out.length + t + 11 * k) % TEXT.length]!,
      );
      const label = /[a-z]/.test(tokens[length - 1]!) ? 'letter' : 'other';
      tokens.forEach((token, t) =>
        out.push({ key: `doc-${k}`, token, label, eos: t === length - 1 }),
      );
      s++;
    }
    return out;
  });
  const out: StreamEvent[] = [];
  for (let i = 0; i < STEPS_PER_KEY; i++) for (const list of perKey) out.push(list[i]!);
  return out;
}

const BIDIRECTIONAL_CONFIG = {
  ...CONFIG,
  task: { type: 'tag', labels: ['letter', 'other'], maxSequenceSteps: 24 },
  model: { ...CONFIG.model, cell: 'gru', layers: 2, bidirectional: true },
};

/** What an embedded prediction and its distributed twin must agree on, by task. */
const comparable = {
  lm: (p: Prediction) => ({
    index: p.index,
    key: p.key,
    paramVersion: p.paramVersion,
    bits: p.bits,
  }),
  classify: (p: Prediction) => ({
    index: p.index,
    key: p.key,
    paramVersion: p.paramVersion,
    label: p.label,
    confidence: p.confidence,
  }),
  tag: (p: Prediction) => ({
    index: p.index,
    key: p.key,
    paramVersion: p.paramVersion,
    eos: p.eos,
    label: p.label,
    confidence: p.confidence,
    actual: p.actual,
  }),
};

test(
  'an embedded run and one worker training through the paramserver in lockstep on the same events end with bit-identical parameters and make bit-identical predictions',
  { timeout: 300_000 },
  () => embeddedEqualsDistributed({ config: CONFIG, stream: events(), task: 'lm', minVersion: 20 }),
);

test(
  'classify: whole-sequence training in an embedded run and in a worker ends with bit-identical parameters and predictions',
  { timeout: 300_000 },
  () =>
    embeddedEqualsDistributed({
      config: CLASSIFY_CONFIG,
      stream: classifyEvents(),
      task: 'classify',
      minVersion: 8,
    }),
);

test(
  'bidirectional tag: segments predicted at their eos and trained whole end with bit-identical parameters and predictions in an embedded run and in a worker',
  { timeout: 300_000 },
  () =>
    embeddedEqualsDistributed({
      config: BIDIRECTIONAL_CONFIG,
      stream: segmentEvents(),
      task: 'tag',
      minVersion: 8,
    }),
);

async function embeddedEqualsDistributed({
  config: CONFIG,
  stream,
  task,
  minVersion,
}: {
  config: object;
  stream: StreamEvent[];
  task: keyof typeof comparable;
  minVersion: number;
}): Promise<void> {
  {
    const dir = await tempDir('embedded-equals-distributed');

    // Embedded, in this process.
    const inputPath = join(dir, 'events.jsonl');
    const outputPath = join(dir, 'predictions.jsonl');
    await writeFile(inputPath, stream.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const config = parseConfig({ ...CONFIG, app: 'embedded' }, { source: 'test' });
    await selectBackend({ requested: 'cpu' });
    const embedded = await runEmbedded({
      config,
      inputPaths: [inputPath],
      inputFormat: 'jsonl',
      outputPath,
      logger: memoryLogger().logger,
    });
    const embeddedVersion = embedded.learner.model.params.version;
    const embeddedParams = embedded.learner.model.params.toArrays();
    embedded.learner.dispose();
    const embeddedPredictions = (await readFile(outputPath, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Prediction)
      // A bidirectional run writes a segment's predictions at its eos: compare in event order.
      .sort((a, b) => a.index - b.index);

    // Distributed: `rnnstream paramserver` and one `rnnstream worker` in lockstep, one partition.
    const { broker, client, admin } = kafka;
    const app = uniqueTopicPrefix('embedded equals distributed');
    const configPath = await writeConfig(dir, { ...CONFIG, app });
    await createAppTopics({ admin, app, partitions: 1 });
    const brokers = broker.brokers.join(',');
    const paramserver = spawnParamserver([
      '--config',
      configPath,
      '--brokers',
      brokers,
      '--checkpoint-dir',
      dir,
    ]);
    kafka.spawned(paramserver.child);
    const worker = spawnWorker({
      configPath,
      brokers: broker.brokers,
      args: ['--worker-id', 'w0', '--params-lockstep-ms', '60000', '--max-batch-size', '97'],
    });
    kafka.spawned(worker.child);
    await worker.waitForLog(/using the published parameters/);
    await worker.waitForLog(/"partitions restored"/);
    await produceEvents({ client, topic: topicNames(app).events, events: stream, batchSize: 50 });
    const distributedPredictions = predictionsOf(
      await readTopicUntil({
        client,
        admin,
        topic: topicNames(app).predictions,
        done: (records) => records.length >= stream.length,
        timeoutMs: 240_000,
        what: `${stream.length} predictions`,
      }),
    ).sort((a, b) => a.index - b.index);
    // The last step: the worker's keys are ready and nothing more comes; it trains them at maxWaitMs.
    await readTopicUntil({
      client,
      admin,
      topic: topicNames(app).params,
      done: (records) => versionsOnTopic(records, DEFAULT_MODEL_ID).versions.has(embeddedVersion),
      timeoutMs: 60_000,
      what: `parameter version ${embeddedVersion}`,
    });
    worker.child.kill('SIGTERM');
    await worker.summary;
    paramserver.child.kill('SIGTERM');
    await paramserver.exited;
    const { versions } = versionsOnTopic(
      await readTopic({ client, admin, topic: topicNames(app).params }),
      DEFAULT_MODEL_ID,
    );
    const finalVersion = Math.max(...versions.keys());
    const distributedParams = versions.get(finalVersion)!.tensors;

    assert.ok(embeddedVersion > minVersion, `only ${embeddedVersion} updates`);
    assert.equal(finalVersion, embeddedVersion, 'the same number of updates');
    assert.deepEqual([...distributedParams.keys()].sort(), [...embeddedParams.keys()].sort());
    for (const [name, values] of embeddedParams) {
      const published = distributedParams.get(name)!.data;
      assert.ok(
        Buffer.from(values.buffer, values.byteOffset, values.byteLength).equals(
          Buffer.from(published.buffer, published.byteOffset, published.byteLength),
        ),
        `parameter '${name}' differs`,
      );
    }
    assert.equal(distributedPredictions.length, embeddedPredictions.length);
    for (const [i, p] of embeddedPredictions.entries())
      assert.deepEqual(comparable[task](distributedPredictions[i]!), comparable[task](p));
  }
}
