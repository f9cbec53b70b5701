import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tf } from '../../../shared/engine/tf.js';
import { createLogger } from '../../../shared/logging/index.js';
import { createMetricsRegistry } from '../../../shared/metrics/index.js';
import { createParamserverMetrics } from '../../../shared/metrics/paramserver-metrics.js';
import { GradientIntake, ParameterServer } from '../../../shared/paramserver/index.js';
import { gradientMessageRecords } from '../../../shared/paramserver-client/index.js';
import type { KafkaBusRecord } from '../../../shared/transport/kafka/index.js';
import { createRecordHandler } from '../../../services/paramserver/record-handler.js';
import { initialState, randomTensors, serverOptions } from '../../support/paramserver/gradients.js';

await tf.setBackend('cpu');

async function counterValues(registry: ReturnType<typeof createMetricsRegistry>, name: string) {
  const metric = await registry.getSingleMetric(name)!.get();
  return Object.fromEntries(
    metric.values.map((v) => [Object.values(v.labels).join(',') || 'value', v.value]),
  );
}

for (const mode of ['sync', 'async'] as const) {
  test(`[${mode}] records are counted: received, stale dropped, duplicates, rejected chunks, bytes`, async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = createParamserverMetrics(registry);
    const server = ParameterServer.create({
      options: serverOptions({ mode, staleness: 1 }),
      state: { ...initialState(), version: 5, scheduleStep: 5 },
    });
    const intake = new GradientIntake({
      isSeen: (w, s) => server.hasSeen(w, s),
      startOffsets: [],
    });
    const handle = createRecordHandler({
      server,
      intake,
      metrics,
      log: createLogger({ name: 'test', level: 'silent' }),
    });
    let offset = 0;
    const send = (workerId: string, step: number, paramVersion: number) =>
      gradientMessageRecords({
        message: {
          workerId,
          step,
          paramVersion,
          tokens: 2,
          lossSum: 1,
          tensors: randomTensors(step),
        },
      }).map((r) =>
        handle({
          topic: 'g',
          partition: 0,
          offset,
          nextOffset: ++offset,
          key: r.key,
          value: r.value!,
          tombstone: false,
          timestampMs: 0,
        } satisfies KafkaBusRecord),
      );
    assert.deepEqual(send('fresh', 1, 5), [true]);
    assert.deepEqual(send('behind', 1, 4), [true], 'staleness 1 is within the bound');
    assert.deepEqual(send('stale', 1, 3), [false]);
    assert.deepEqual(send('stale', 2, 2), [false]);
    assert.deepEqual(send('fresh', 1, 5), [false], 'a retried send');
    handle({
      topic: 'g',
      partition: 0,
      offset: 99,
      nextOffset: 100,
      key: 'x',
      value: new Uint8Array([1, 2, 3]),
      tombstone: false,
      timestampMs: 0,
    });

    assert.deepEqual(
      await counterValues(registry, 'rnnstream_paramserver_gradients_received_total'),
      { value: 4 },
    );
    assert.deepEqual(
      await counterValues(registry, 'rnnstream_paramserver_gradients_dropped_total'),
      {
        stale: 2,
        future: 0,
        invalid: 0,
      },
    );
    assert.deepEqual(
      await counterValues(registry, 'rnnstream_paramserver_gradients_deduplicated_total'),
      { value: 1 },
    );
    const rejected = await counterValues(
      registry,
      'rnnstream_paramserver_gradient_chunks_rejected_total',
    );
    assert.equal(rejected.undecodable, 1);
    const staleness = await metrics.gradientStaleness.get();
    const count = staleness.values.find((v) => v.metricName?.endsWith('_count'))?.value;
    const sum = staleness.values.find((v) => v.metricName?.endsWith('_sum'))?.value;
    assert.equal(count, 4, 'two accepted and two stale gradients observed');
    assert.equal(sum, 0 + 1 + 2 + 3);
    const bytes = await counterValues(
      registry,
      'rnnstream_paramserver_gradient_bytes_received_total',
    );
    assert.ok(bytes.value! > 5 * 9 * 4, `${bytes.value} bytes`);
    assert.equal(server.pendingCount, 2);
    server.dispose();
  });
}
