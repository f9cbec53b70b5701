import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DecodedParams } from '../../../shared/codec/param-codec.js';
import { tf } from '../../../shared/engine/tf.js';
import { RnnstreamError, ShapeError } from '../../../shared/errors/index.js';
import { RecurrentModel } from '../../../shared/model/recurrent-model.js';
import {
  applyParams,
  followParams,
  paramRecords,
  paramTombstones,
} from '../../../shared/paramserver-client/index.js';
import {
  createTransactionalProducer,
  ensureTopics,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { tinyLmSpec } from '../../support/tiny-learner.js';

let client: KafkaClient;
let admin: KafkaAdmin;
withTestKafka('follow-params-test', (kafka) => ({ client, admin } = kafka));

await tf.setBackend('cpu');
const spec = tinyLmSpec();

/** Parameters of `spec` with every value = version + index / 1000 (recognisable per version). */
function versionTensors(version: number, model: RecurrentModel) {
  return new Map(
    [...model.params.toNamedArrays()].map(([name, { shape, data }]) => [
      name,
      { shape, data: data.map((_, i) => version + i / 1000) },
    ]),
  );
}

test('a follower delivers each newer complete version of its model, from the beginning, and applies to a model', async () => {
  const app = uniqueTopicPrefix('follow-params');
  const { names } = await ensureTopics({ admin, app, partitions: 1, replicationFactor: 1 });
  const producer = createTransactionalProducer({ client, transactionalId: `${app}.publisher` });
  const model = RecurrentModel.create({ spec, seed: 1 });
  const publish = async (
    modelId: string,
    version: number,
    extra = paramTombstones({ modelId, version: 0, count: 0 }),
  ) => {
    const txn = await producer.transaction();
    const records = paramRecords({
      modelId,
      version,
      tensors: versionTensors(version, model),
      maxChunkBytes: 100,
    });
    await txn.send({ topic: names.params, messages: [...records, ...extra] });
    await txn.commit();
    return records.length;
  };
  const chunks = await publish('m', 0);
  assert.ok(chunks > 3, `${chunks} chunks per version`);
  await publish('other', 5);
  await publish('m', 1);
  const aborted = await producer.transaction();
  await aborted.send({
    topic: names.params,
    messages: paramRecords({ modelId: 'm', version: 9, tensors: versionTensors(9, model) }),
  });
  await aborted.abort();

  const seen: number[] = [];
  const follower = followParams({
    client,
    app,
    modelId: 'm',
    onVersion: (p: DecodedParams) => {
      seen.push(p.version);
    },
  });
  try {
    const first = await follower.waitForVersion({ minVersion: 1, timeoutMs: 30_000 });
    assert.equal(first.version, 1);
    await publish('m', 2, paramTombstones({ modelId: 'm', version: 0, count: chunks }));
    const second = await follower.waitForVersion({ minVersion: 2, timeoutMs: 30_000 });
    assert.equal(second.version, 2);
    assert.equal(follower.latest?.version, 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(seen.includes(2) && seen.every((v, i) => i === 0 || v > seen[i - 1]!), `${seen}`);
    assert.ok(!seen.includes(9), 'an aborted version is never seen');

    applyParams(model.params, second);
    assert.equal(model.params.version, 2);
    assert.deepEqual(
      model.params.toArrays().get('head/b'),
      versionTensors(2, model).get('head/b')!.data,
    );

    await assert.rejects(
      follower.waitForVersion({ minVersion: 7, timeoutMs: 200 }),
      (e) =>
        e instanceof RnnstreamError &&
        e.retriable &&
        /no parameter version >= 7 of model 'm'.*latest seen: 2.*fix: start 'rnnstream paramserver'/.test(
          e.message,
        ),
    );
  } finally {
    await follower.stop();
    await producer.disconnect();
  }
  const other = RecurrentModel.create({ spec: tinyLmSpec({ hidden: 7 }), seed: 1 });
  const before = other.params.toArrays();
  assert.throws(
    () => applyParams(other.params, follower.latest!),
    (e) =>
      e instanceof ShapeError &&
      /'layer0\/W' has shape .*fix: run the worker with the same model configuration/.test(
        e.message,
      ),
  );
  assert.deepEqual(other.params.toArrays(), before, 'nothing assigned');
  assert.equal(other.params.version, 0);
  other.dispose();
  model.dispose();
});
