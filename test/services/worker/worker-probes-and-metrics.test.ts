/**
 * A `rnnstream worker` process on the real broker serves what Prometheus and Kubernetes read:
 * /readyz only once its partitions are restored, and on /metrics the running-metric counters,
 * consumer lag per partition, state bytes, gradient bytes and its build info.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { encodeEvent } from '../../../shared/codec/index.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../../support/kafka/client.js';
import {
  createAppTopics,
  produceRecords,
  spawnWorker,
  writeConfig,
} from '../../support/kafka/worker-harness.js';
import { until } from '../../support/until.js';

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;
before(async () => ({ broker, client, admin } = await connectTestAdmin('worker-probes-test')), {
  timeout: 240_000,
});
after(() => releaseTestAdmin({ broker, admin }));

/** The value of one series in Prometheus text format (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('the worker is ready only after its restore, and its /metrics carries prediction, lag, state and gradient figures', async () => {
  const app = uniqueTopicPrefix('worker-probes');
  await createAppTopics({ admin, app, partitions: 2 });
  const configPath = await writeConfig(await mkdtemp(join(tmpdir(), 'worker-probes-')), {
    app,
    backend: 'cpu',
    task: { type: 'lm' },
    model: { cell: 'gru', hidden: 8, embedding: 4 },
    tbptt: { k1: 4, k2: 4, maxWaitMs: 20 },
  });
  const worker = spawnWorker({
    configPath,
    brokers: broker.brokers,
    args: ['--metrics-port', '0', '--metrics-host', '127.0.0.1', '--params-wait-ms', '0'],
  });
  try {
    await worker.waitForLog(/serving Prometheus metrics/);
    const url = /"url":"(http:[^"]+)\/metrics"/.exec(worker.stderr())![1]!;
    const readyz = await fetch(`${url}/readyz`);
    if (readyz.status === 503) assert.match(await readyz.text(), /^(parameters|group|restore): /m);
    await until(
      '/readyz 200',
      async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
      { intervalMs: 100 },
    );
    assert.match(worker.stderr(), /partitions restored/, 'ready only after the restore');
    assert.equal((await fetch(`${url}/healthz`)).status, 200);

    const text = 'the quick brown fox jumps over the lazy dog ';
    const events = [...text.repeat(3)].flatMap((token, i) =>
      ['a', 'b'].map((key) => ({ key, value: encodeEvent({ key, token, eos: false }), i })),
    );
    await produceRecords({ client, topic: topicNames(app).events, records: events });
    const metrics = await until(
      'every event processed',
      async () => {
        const body = await (await fetch(`${url}/metrics`)).text();
        // A fetched batch's lag is reported once the worker has taken the next batch.
        return sample(body, 'rnnstream_worker_events_total{service="worker"}') === events.length &&
          body.includes('rnnstream_worker_consumer_lag_offsets{')
          ? body
          : undefined;
      },
      { intervalMs: 100 },
    );
    // lm: every event's token is predicted before it is learned from.
    assert.equal(
      sample(metrics, 'rnnstream_worker_scored_predictions_total{service="worker"}'),
      events.length,
    );
    const bits = sample(metrics, 'rnnstream_worker_prediction_bits_total{service="worker"}')!;
    assert.ok(bits > events.length * 4 && bits < events.length * 12, `bits ${bits}`);
    const lags = metrics
      .split('\n')
      .filter((l) => l.startsWith('rnnstream_worker_consumer_lag_offsets{'));
    assert.ok(lags.length >= 1 && lags.length <= 2, lags.join('\n'));
    for (const line of lags) assert.match(line, /\{partition="[01]",service="worker"\} 0$/);
    assert.ok(sample(metrics, 'rnnstream_worker_state_bytes{service="worker"}')! > 0);
    assert.ok(sample(metrics, 'rnnstream_worker_gradient_bytes_sent_total{service="worker"}')! > 0);
    const steps = sample(metrics, 'rnnstream_worker_train_step_tokens_count{service="worker"}')!;
    assert.ok(steps > 0);
    assert.equal(sample(metrics, 'rnnstream_worker_train_steps_total{service="worker"}'), steps);
    assert.ok(sample(metrics, 'rnnstream_worker_train_loss_nats_total{service="worker"}')! > 0);
    assert.match(
      metrics,
      /^rnnstream_build_info\{version="[^"]+",node_version="v\d+[^"]*",backend="cpu",service="worker"\} 1$/m,
    );
  } finally {
    worker.child.kill('SIGTERM');
    await worker.summary.catch(() => {});
  }
  assert.equal(worker.child.exitCode, 0, 'SIGTERM stops the worker cleanly');
});
