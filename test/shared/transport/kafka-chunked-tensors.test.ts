import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  encodeGradientChunks,
  encodeParamChunks,
  GradientAssembler,
  ParamAssembler,
} from '../../../shared/codec/index.js';
import {
  createKafkaBus,
  readPartitionsToEnd,
  waitForTopicLeaders,
  type KafkaAdmin,
  type KafkaBusRecord,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('kafka-chunked-tensors-test', (kafka) => ({ client, admin } = kafka));

/** The broker's default message limit (message.max.bytes = 1,048,588): the topics keep it. */
const BROKER_DEFAULT_LIMIT = 1_048_588;

async function roundTrip(topic: string, values: Uint8Array[]): Promise<KafkaBusRecord[]> {
  // A topic with the broker's defaults: no max.message.bytes override.
  await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: 1 }] });
  await waitForTopicLeaders({ admin, topics: [topic] });
  const bus = createKafkaBus({ client, groupId: `${topic}.writer` });
  try {
    await bus
      .producer()
      .send({ topic, messages: values.map((value, i) => ({ key: `k/${i}`, value })) });
  } finally {
    await bus.disconnect();
  }
  const out: KafkaBusRecord[] = [];
  await readPartitionsToEnd({
    client,
    topic,
    partitions: [0],
    onRecords: (r) => void out.push(...r),
  });
  return out;
}

function pattern(length: number, seed: number): Float32Array {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = Math.sin(i * 0.001 + seed) * 1e-3;
  return data;
}

test(
  'a 24 MB gradient and a 24 MB parameter set cross the broker in chunks under its default message limit and come back bit for bit',
  { timeout: 120_000 },
  async () => {
    const prefix = uniqueTopicPrefix('chunked tensors');
    const weights = pattern(5_000_000, 1);
    const bias = pattern(1_000_000, 2);
    const gradient = encodeGradientChunks({
      workerId: 'w1',
      step: 7,
      paramVersion: 3,
      tokens: 2048,
      lossSum: 1234.5,
      tensors: new Map([
        ['cell/kernel', { shape: [1000, 5000], data: weights }],
        ['cell/bias', { shape: [1_000_000], data: bias }],
      ]),
    });
    assert.ok(gradient.length >= 24, `${gradient.length} chunks`);
    assert.ok(gradient.every((c) => c.byteLength < BROKER_DEFAULT_LIMIT - 1024));
    const received = await roundTrip(`${prefix}.gradients`, gradient);
    assert.equal(received.length, gradient.length);
    const assembler = new GradientAssembler();
    let decoded;
    for (const record of [...received].reverse()) decoded = assembler.add(record.value) ?? decoded;
    assert.ok(decoded, 'the gradient reassembles');
    assert.equal(decoded.step, 7);
    assert.equal(decoded.tokens, 2048);
    assert.deepEqual(decoded.tensors.get('cell/kernel')!.shape, [1000, 5000]);
    assert.deepEqual(
      Buffer.from(decoded.tensors.get('cell/kernel')!.data.buffer),
      Buffer.from(weights.buffer),
    );
    assert.deepEqual(
      Buffer.from(decoded.tensors.get('cell/bias')!.data.buffer),
      Buffer.from(bias.buffer),
    );

    const params = encodeParamChunks({
      modelId: 'lm',
      version: 12,
      tensors: new Map<string, { shape: number[]; data: Float32Array } | Float32Array>([
        ['cell/kernel', { shape: [1000, 5000], data: weights }],
        ['cell/bias', bias],
      ]),
    });
    const paramRecords = await roundTrip(`${prefix}.params`, params);
    const paramAssembler = new ParamAssembler();
    let decodedParams;
    for (const record of paramRecords)
      decodedParams = paramAssembler.add(record.value) ?? decodedParams;
    assert.ok(decodedParams);
    assert.equal(decodedParams.version, 12);
    assert.deepEqual(
      Buffer.from(decodedParams.tensors.get('cell/kernel')!.data.buffer),
      Buffer.from(weights.buffer),
    );
  },
);
