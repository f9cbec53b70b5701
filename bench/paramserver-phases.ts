/**
 * Where a parameter-service round spends its time, phase by phase, with the calls the server
 * makes (BENCHMARKS.md, "Parameter service rounds").
 *
 *   npm run build
 *   node dist/bench/paramserver-phases.js [--brokers host:port] [--rounds 6] [--workers 4]
 *        [--hidden 1024] [--embedding 256] [--out bench/results/paramserver-phases.json]
 *
 * In one process: --workers gradients are encoded as GradientChunk records and reassembled by a
 * GradientIntake (what the server does per record), offered to a ParameterServer, applied as one
 * round (host arrays, in place), then its state is checkpointed (the older of two slot files
 * overwritten in place, fdatasync) and published as one transaction on a real broker. The phases
 * run one after the other here (the server overlaps checkpoint and publish), so each is measured
 * alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { benchArgs, positiveNumber } from './bench-args.js';
import { Float32ArrayPool } from '../shared/codec/float32-array-pool.js';
import { modelSpecFromConfig, parseConfig } from '../shared/config/index.js';
import { createLogger } from '../shared/logging/index.js';
import {
  GradientIntake,
  ParameterServer,
  parameterServerOptionsFromConfig,
  createCheckpointStore,
  type IncomingGradient,
} from '../shared/paramserver/index.js';
import { gradientMessageRecords, paramRecords } from '../shared/paramserver-client/index.js';
import {
  closeKafkaAdmin,
  createKafkaClient,
  createTopics,
  createTransactionalProducer,
  openKafkaAdmin,
} from '../shared/transport/kafka/index.js';
import { randomTensors } from '../test/support/paramserver/gradients.js';
import { lstmParameterShapes } from '../test/support/paramserver/large-model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PHASES = [
  'encodeGradients',
  'reassembleAndCheck',
  'update',
  'checkpoint',
  'encodeVersion',
  'publish',
] as const;
type Phase = (typeof PHASES)[number];

async function main(): Promise<void> {
  const args = benchArgs({
    brokers: process.env.KAFKA_BROKERS ?? '',
    rounds: '6',
    workers: '4',
    out: path.join(ROOT, 'bench', 'results', 'paramserver-phases.json'),
    hidden: '1024',
    embedding: '256',
  });
  const brokers = args.brokers;
  if (!brokers)
    throw new Error('give --brokers host:port or KAFKA_BROKERS (npm run kafka:local starts one)');
  const rounds = positiveNumber('rounds', args.rounds, '6');
  const workers = positiveNumber('workers', args.workers, '4');
  const out = args.out;
  const config = parseConfig(
    {
      model: {
        cell: 'lstm',
        hidden: positiveNumber('hidden', args.hidden, '1024'),
        embedding: positiveNumber('embedding', args.embedding, '256'),
      },
    },
    { source: 'bench' },
  );
  const spec = modelSpecFromConfig(config);
  const shapes = lstmParameterShapes(spec);
  const arrays = new Float32ArrayPool();
  const server = ParameterServer.create({
    options: parameterServerOptionsFromConfig(config),
    state: {
      version: 0,
      scheduleStep: 0,
      params: [...randomTensors(99, shapes, 0.05)].map(([name, t]) => ({
        name,
        shape: t.shape,
        values: t.data,
      })),
    },
  });
  const parameterCount = server.parameterCount;
  const gradients = Array.from({ length: workers }, (_, w) => randomTensors(w + 1, shapes, 0.01));
  const client = createKafkaClient({
    clientId: 'bench-phases',
    brokers,
    logger: createLogger({ name: 'bench', level: 'warn' }),
  });
  const admin = await openKafkaAdmin({ client });
  const topic = `bench-phases-${Date.now()}`;
  await createTopics({
    admin,
    brokers: client.brokers,
    topics: [{ topic, partitions: 1, replicationFactor: 1 }],
  });
  const producer = createTransactionalProducer({ client, transactionalId: topic });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rnnstream-bench-phases-'));
  const checkpoints = createCheckpointStore({ directory: dir, modelId: 'bench' });
  const samples: Array<Record<Phase, number>> = [];
  try {
    for (let round = 0; round < rounds + 1; round++) {
      const t: Partial<Record<Phase, number>> = {};
      const time = async <T>(phase: Phase, fn: () => T | Promise<T>): Promise<T> => {
        const start = performance.now();
        const result = await fn();
        t[phase] = performance.now() - start;
        return result;
      };
      const encoded = await time('encodeGradients', () =>
        gradients.map((tensors, w) =>
          gradientMessageRecords({
            message: {
              workerId: `w${w}`,
              step: round + 1,
              paramVersion: server.version,
              tokens: 2_048,
              lossSum: 0,
              tensors,
            },
          }),
        ),
      );
      await time('reassembleAndCheck', () => {
        // As the server: arrays from a pool the previous round's gradients went back to.
        const intake = new GradientIntake({ isSeen: () => false, startOffsets: [], arrays });
        let offset = 0;
        for (const records of encoded) {
          for (const record of records) {
            const result = intake.add({
              partition: 0,
              offset,
              nextOffset: ++offset,
              value: record.value!,
            });
            if (result.kind !== 'gradient') continue;
            const incoming: IncomingGradient = { ...result.gradient, receivedAtMs: Date.now() };
            if (server.offer(incoming).kind !== 'accepted')
              throw new Error('gradient not accepted');
          }
        }
      });
      await time('update', () => server.applyRound('all-live'));
      const state = server.stateView(); // host arrays: nothing to download
      await time('checkpoint', () =>
        checkpoints.write({
          ...state,
          modelId: 'bench',
          spec,
          gradientOffsets: [],
          writtenAtMs: Date.now(),
        }),
      );
      const records = await time('encodeVersion', () =>
        paramRecords({
          modelId: 'bench',
          version: state.version,
          tensors: new Map(state.params.map((p) => [p.name, { shape: p.shape, data: p.values }])),
        }),
      );
      await time('publish', async () => {
        const txn = await producer.transaction();
        await txn.send({ topic, messages: records });
        await txn.commit();
      });
      if (round > 0) samples.push(t as Record<Phase, number>); // round 0 warms up
    }
  } finally {
    await producer.disconnect();
    await closeKafkaAdmin(admin);
    await rm(dir, { recursive: true, force: true });
    server.dispose();
  }
  const median = (phase: Phase) => {
    const sorted = samples.map((s) => s[phase]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const lines = [
    `| phase (${workers} workers, ${(parameterCount / 1e6).toFixed(2)} M parameters) | ms p50 | ms min | ms max |`,
    '|---|---:|---:|---:|',
    ...PHASES.map((phase) => {
      const values = samples.map((s) => s[phase]);
      return `| ${phase} | ${median(phase).toFixed(0)} | ${Math.min(...values).toFixed(0)} | ${Math.max(...values).toFixed(0)} |`;
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        workers,
        rounds,
        loadAverage: os.loadavg(),
        medianMs: Object.fromEntries(PHASES.map((p) => [p, median(p)])),
        samples,
      },
      null,
      2,
    ) + '\n',
  );
}

await main();
