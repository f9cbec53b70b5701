import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { decodeGradientChunks } from '../../../shared/codec/gradient-codec.js';
import { modelSpecFromConfig, parseConfig } from '../../../shared/config/index.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createMetricsRegistry } from '../../../shared/metrics/index.js';
import { loadParameterFile } from '../../../shared/model/parameter-file.js';
import { initialParameters } from '../../../shared/model/recurrent-model.js';
import {
  ParameterServer,
  parameterServerOptionsFromConfig,
} from '../../../shared/paramserver/index.js';
import { followParams, gradientMessageRecords } from '../../../shared/paramserver-client/index.js';
import {
  createKafkaBus,
  ensureTopics,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { runParamserver } from '../../../services/paramserver/run-paramserver.js';
import { availableBackends } from '../../support/backends.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';
import { assertSameBits, randomTensors } from '../../support/paramserver/gradients.js';
import { readWholeTopic, versionsOnTopic } from '../../support/paramserver/harness.js';
import {
  LARGE_MODEL,
  lstmParameterShapes,
  writeRandomInitFile,
} from '../../support/paramserver/large-model.js';
import { tempDir } from '../../support/run-helpers.js';
import { tinyLmSpec } from '../../support/tiny-learner.js';

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;
before(
  async () => void ({ broker, client, admin } = await connectTestAdmin('paramserver-large-test')),
  { timeout: 240_000 },
);
after(() => releaseTestAdmin({ broker, admin }));

/** Kafka's default broker message.max.bytes. */
const BROKER_LIMIT = 1_048_588;

test('lstmParameterShapes matches the names and shapes of the seeded initialiser', () => {
  const spec = tinyLmSpec({ hidden: 5, embedding: 3 });
  assert.deepEqual(
    [...lstmParameterShapes(spec)],
    initialParameters(spec, 1).map((p) => [p.name, p.shape]),
  );
});

test('a 5.6M-parameter model: versions and gradients (float32 and bfloat16) pass the default 1 MB limit in chunks, and version 1 is the exact update', async () => {
  const backend = (await availableBackends(['tensorflow'])).length > 0 ? 'tensorflow' : 'cpu';
  const app = uniqueTopicPrefix('ps-large');
  const dir = await tempDir('ps-large');
  const config = parseConfig(
    { app, ...LARGE_MODEL, backend, paramserver: { minWorkers: 2, roundDeadlineMs: 120_000 } },
    { source: 'test' },
  );
  const spec = modelSpecFromConfig(config);
  const shapes = lstmParameterShapes(spec);
  const parameters = [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  assert.ok(parameters >= 5_000_000, `${parameters} parameters`);
  const initPath = await writeRandomInitFile(dir, spec);
  const { names } = await ensureTopics({ admin, app, partitions: 2, replicationFactor: 1 });

  const abort = new AbortController();
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const running = runParamserver({
    config,
    brokers: broker.brokers,
    logger: createLogger({ name: 'paramserver', level: process.env.RNNSTREAM_LOG_LEVEL || 'warn' }),
    checkpointDir: join(dir, 'checkpoint'),
    initPath,
    modelId: 'big',
    signal: abort.signal,
    registry,
  });
  running.catch(() => {}); // awaited below
  const follower = followParams({ client, app, modelId: 'big' });
  const bus = createKafkaBus({ client, groupId: `${app}.workers` });
  let sent: Uint8Array[][] = [];
  try {
    const v0 = await follower.waitForVersion({ minVersion: 0, timeoutMs: 120_000 });
    assert.equal(v0.version, 0);
    const init = await loadParameterFile(initPath);
    assertSameBits(
      new Map([...v0.tensors].map(([n, t]) => [n, t.data])),
      new Map([...init.arrays].map(([n, a]) => [n, a.data])),
      'version 0 = the --init file',
    );

    sent = (['float32', 'bfloat16'] as const).map((encoding, w) => {
      const records = gradientMessageRecords({
        message: {
          workerId: `w${w}`,
          step: 1,
          paramVersion: 0,
          tokens: 100 + 50 * w,
          lossSum: 300,
          tensors: randomTensors(w + 1, shapes, 0.01),
        },
        encoding,
      });
      return records.map((r) => r.value!);
    });
    for (const [w, values] of sent.entries())
      await bus.producer().send({
        topic: names.gradients,
        messages: values.map((value) => ({ key: `w${w}`, value })),
      });
    const v1 = await follower.waitForVersion({ minVersion: 1, timeoutMs: 120_000 });
    assert.equal(v1.version, 1);

    // The same update in this process, from exactly the values the server decoded.
    const reference = ParameterServer.create({
      options: parameterServerOptionsFromConfig(config),
      state: {
        version: 0,
        scheduleStep: 0,
        params: [...init.arrays].map(([name, { shape, data }]) => ({ name, shape, values: data })),
      },
    });
    for (const values of sent)
      assert.equal(
        reference.offer({ ...decodeGradientChunks(values), receivedAtMs: Date.now() }).kind,
        'accepted',
      );
    reference.applyRound('all-live');
    assertSameBits(
      new Map([...v1.tensors].map(([n, t]) => [n, t.data])),
      reference.parameterValues(),
      'version 1',
    );
    reference.dispose();
  } finally {
    abort.abort();
    await follower.stop();
    await bus.disconnect();
  }
  const summary = await running;
  assert.deepEqual(summary, { version: 1, rounds: 1, origin: 'fresh' });

  const params = versionsOnTopic(await readWholeTopic(client, names.params), 'big');
  assert.deepEqual(params.order, [0, 1]);
  assert.ok(params.chunks.get(0)! >= 24, `${params.chunks.get(0)} chunks per version`);
  assert.ok(params.maxRecordBytes < BROKER_LIMIT, `largest params record ${params.maxRecordBytes}`);
  const gradientRecords = await readWholeTopic(client, names.gradients);
  assert.equal(gradientRecords.length, sent.flat().length);
  assert.ok(sent[1]!.length < sent[0]!.length * 0.6, 'bfloat16 needs about half the chunks');
  assert.ok(Math.max(...gradientRecords.map((r) => r.value.length)) < BROKER_LIMIT);
  const bytesIn = await registry
    .getSingleMetric('rnnstream_paramserver_gradient_bytes_received_total')!
    .get();
  assert.equal(
    bytesIn.values[0]!.value,
    sent.flat().reduce((n, v) => n + v.length, 0),
  );
});
