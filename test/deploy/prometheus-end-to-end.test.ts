/**
 * The dashboards and alert rules read metrics that exist: a real Prometheus scrapes a real
 * paramserver, worker and decoder on the real broker (events flowing, one decode request
 * answered), and every PromQL expression shipped in deploy/prometheus/rules and
 * deploy/grafana/dashboards is evaluated through its HTTP API. Each metric name an expression
 * reads must have series, and each expression must return data (comparisons as `bool`, so only a
 * missing series can make an answer empty) — a misspelt name fails here, not silently in
 * production.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { encodeEvent } from '../../shared/codec/index.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix, type TestBroker } from '../support/kafka/broker.js';
import { connectTestAdmin, releaseTestAdmin } from '../support/kafka/client.js';
import {
  createAppTopics,
  produceRecords,
  spawnService,
  writeConfig,
  type WorkerProcess,
} from '../support/kafka/worker-harness.js';
import { spawnParamserver, type ParamserverChild } from '../support/paramserver/harness.js';
import {
  evaluable,
  metricNames,
  prometheusMissing,
  shippedExpressions,
  startPrometheus,
  type PrometheusServer,
} from '../support/prometheus/prometheus.js';
import { until } from '../support/until.js';

const missing = prometheusMissing();
const bin = fileURLToPath(new URL('../../../bin/rnnstream.js', import.meta.url));

let broker: TestBroker;
let client: KafkaClient;
let admin: KafkaAdmin;
before(
  async () => {
    if (!missing) ({ broker, client, admin } = await connectTestAdmin('prometheus-e2e-test'));
  },
  { timeout: 240_000 },
);
after(() => (missing ? undefined : releaseTestAdmin({ broker, admin })));

/** host:port of the metrics server a service logged (`"url"` or `"metrics"`). */
function metricsTarget(log: () => string): Promise<string> {
  return until(
    'the metrics url in the log',
    async () => {
      const match = /"(?:url|metrics)":"http:\/\/([^/"]+)\/metrics"/.exec(log());
      return match?.[1];
    },
    { timeoutMs: 90_000 },
  );
}

test(
  'every PromQL expression of the dashboards and alert rules returns data from live services',
  { skip: missing, timeout: 300_000 },
  async () => {
    const app = uniqueTopicPrefix('prometheus-e2e');
    await createAppTopics({ admin, app, partitions: 2 });
    const configPath = await writeConfig(await mkdtemp(join(tmpdir(), 'prometheus-e2e-')), {
      app,
      backend: 'cpu',
      task: { type: 'lm' },
      model: { cell: 'gru', hidden: 8, embedding: 4 },
      tbptt: { k1: 4, k2: 4, maxWaitMs: 20 },
    });
    const brokers = broker.brokers.join(',');
    const metricsArgs = ['--metrics-port', '0', '--metrics-host', '127.0.0.1'];
    let paramserver: ParamserverChild | undefined;
    const services: WorkerProcess[] = [];
    let prometheus: PrometheusServer | undefined;
    try {
      paramserver = spawnParamserver([
        '--config',
        configPath,
        '--brokers',
        brokers,
        ...metricsArgs,
      ]);
      const paramserverTarget = await metricsTarget(() => paramserver!.output());
      const worker = spawnService({
        command: 'worker',
        configPath,
        brokers: broker.brokers,
        args: metricsArgs,
      });
      const decoder = spawnService({
        command: 'decoder',
        configPath,
        brokers: broker.brokers,
        args: metricsArgs,
      });
      services.push(worker, decoder);
      const jobs = {
        'rnnstream-paramserver': [paramserverTarget],
        'rnnstream-worker': [await metricsTarget(worker.stderr)],
        'rnnstream-decoder': [await metricsTarget(decoder.stderr)],
      };
      prometheus = await startPrometheus(jobs);

      // Events for the worker (training, predictions, lag), a request for the decoder.
      const text = 'a stream of bytes for the worker to learn from ';
      await produceRecords({
        client,
        topic: topicNames(app).events,
        records: [...text.repeat(4)].flatMap((token) =>
          ['k1', 'k2'].map((key) => ({ key, value: encodeEvent({ key, token, eos: false }) })),
        ),
      });
      await decoder.waitForLog(/using the published parameters|partitions assigned/);
      const generate = spawn(process.execPath, [
        bin,
        'generate',
        '--brokers',
        brokers,
        '--app',
        app,
        '--prompt',
        'ab',
        '--max-tokens',
        '3',
      ]);
      const generated = await new Promise<number | null>((resolve) =>
        generate.on('close', resolve),
      );
      assert.equal(generated, 0, 'the decode request is answered');

      const server = prometheus;
      await until(
        'every job scraped and the worker trained',
        async () => {
          const up = await server.query('up == 1');
          const trained = await server.query('rnnstream_worker_train_steps_total > 0');
          const lag = await server.query('rnnstream_decoder_consumer_lag_offsets');
          return up.result.length === 3 && trained.result.length > 0 && lag.result.length > 0
            ? true
            : undefined;
        },
        { timeoutMs: 90_000 },
      );
      // Rates need two samples after the counters moved; recording rules an evaluation after.
      await new Promise((resolve) => setTimeout(resolve, 3_000));

      const expressions = shippedExpressions();
      assert.ok(expressions.filter((e) => e.kind === 'alert').length >= 8);
      const problems: string[] = [];
      const names = new Set(expressions.flatMap((e) => metricNames(e.expr)));
      for (const name of names) {
        const answer = await server.query(`count({__name__="${name}"})`);
        if (answer.result.length === 0) problems.push(`no series named ${name}`);
      }
      for (const { origin, expr } of expressions) {
        const answer = await server.query(evaluable(expr));
        if (answer.status !== 'success') problems.push(`${origin}: ${answer.error}`);
        else if (answer.result.length === 0)
          problems.push(`${origin}: no data for ${evaluable(expr)}`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await prometheus?.stop();
      for (const service of services) service.child.kill('SIGTERM');
      paramserver?.child.kill('SIGTERM');
      await Promise.all([...services.map((s) => s.summary.catch(() => {})), paramserver?.exited]);
    }
  },
);
