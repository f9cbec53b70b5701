/**
 * A worker (training off) and a decoder of one app on the test broker, the worker having
 * processed `events`: the decoder tests compare its answers with the worker's own predictions.
 */
import { startDecoder } from '../../../services/decoder/run-decoder.js';
import { startWorker } from '../../../services/worker/run-worker.js';
import { encodeEvent } from '../../../shared/codec/index.js';
import { parseConfig, type Config } from '../../../shared/config/index.js';
import { createDecoderClient } from '../../../shared/decoder-client/index.js';
import type { StreamEvent } from '../../../shared/events/stream-event.js';
import type { Logger } from '../../../shared/logging/index.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { uniqueTopicPrefix } from '../kafka/broker.js';
import {
  createAppTopics,
  predictionsOf,
  produceRecords,
  readTopicUntil,
} from '../kafka/worker-harness.js';

export async function servedApp({
  client,
  admin,
  logger,
  open,
  name,
  config: settings,
  source,
  events,
}: {
  client: KafkaClient;
  admin: KafkaAdmin;
  logger: Logger;
  /** What the test stops in its `after` hook (the worker, the decoder and the client go here). */
  open: Array<{ stop(): Promise<unknown> }>;
  /** Names the app (a unique topic prefix is made of it). */
  name: string;
  /** Config settings besides `app` (backend, model, tbptt, task, ...). */
  config: object;
  /** The config's source in error messages. */
  source: string;
  events: StreamEvent[];
}) {
  const app = uniqueTopicPrefix(name);
  const config: Config = parseConfig({ app, ...settings }, { source });
  const topics = topicNames(app);
  await createAppTopics({ admin, app, partitions: 2 });
  const worker = await startWorker({
    config,
    client,
    logger,
    training: false,
    sessionTimeoutMs: 6_000,
  });
  open.push(worker);
  const send = (batch: StreamEvent[]) =>
    produceRecords({
      client,
      topic: topics.events,
      records: batch.map((e) => ({ key: e.key, value: encodeEvent(e) })),
    });
  const predictions = async (count: number) =>
    predictionsOf(
      await readTopicUntil({
        client,
        admin,
        topic: topics.predictions,
        done: (r) => r.length >= count,
        what: `${count} predictions`,
      }),
    ).sort((a, b) => a.index - b.index);
  await send(events);
  await predictions(events.length);
  const decoder = await startDecoder({
    config,
    client,
    logger,
    paramsWaitMs: 0,
    sessionTimeoutMs: 6_000,
    progressIntervalMs: Infinity,
  });
  open.push(decoder);
  const decoderClient = await createDecoderClient({ client, app });
  open.push({ stop: () => decoderClient.close() });
  return { decoderClient, send, predictions };
}
