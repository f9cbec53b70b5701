import {
  createCheckpointStore,
  ParameterServer,
  parameterServerOptionsFromConfig,
  type CheckpointStore,
} from '../../shared/paramserver/index.js';
import { followParams } from '../../shared/paramserver-client/index.js';
import { topicEndOffsets } from '../../shared/transport/kafka/index.js';
import { createParamsPublisher, type ParamsPublisher } from './params-publisher.js';
import { serverVocabularyFromConfig } from '../../shared/vocabulary/server-vocabulary-from-config.js';
import { persistAndPublish } from './persist-version.js';
import type { ServiceContext } from './service-context.js';
import { resolveStartState, type StartState } from './start-state.js';

/** A paramserver ready to take gradients: its state restored, its version published. */
export interface RestoredServer {
  readonly server: ParameterServer;
  readonly start: StartState;
  readonly publisher: ParamsPublisher;
  readonly checkpoints: CheckpointStore | undefined;
}

/**
 * Start-up: fences an older instance (from then on it can no longer publish), reads the
 * checkpoint, the last published version and the gradients topic's ends, decides where to
 * continue (start-state.ts), and makes the start version durable and published before anything
 * else; logs where it started.
 */
export async function restoreServer(
  context: ServiceContext,
  {
    checkpointDir,
    initPath,
    metricsUrl,
  }: {
    checkpointDir?: string | undefined;
    initPath?: string | undefined;
    /** For the start-up log line. */
    metricsUrl?: string | undefined;
  },
): Promise<RestoredServer> {
  const { config, modelId, spec, client, topics, metrics, logger, log, defer } = context;
  const publisher = createParamsPublisher({ client, app: config.app, topics, modelId, logger });
  defer(() => publisher.disconnect());
  await publisher.fence(); // from here on an older instance can no longer publish
  const checkpoints =
    checkpointDir === undefined
      ? undefined
      : createCheckpointStore({
          directory: checkpointDir,
          modelId,
          onInvalidSlot: ({ path, reason }) =>
            log.warn(
              { path, reason },
              'checkpoint slot passed over (not a complete checkpoint: see reason); resuming from the newest complete slot',
            ),
        });
  const start = await decideStart(context, { publisher, checkpoints, initPath });
  const server = ParameterServer.create({
    options: parameterServerOptionsFromConfig(config),
    state: start.state,
    words: await serverVocabularyFromConfig(config, start.state.vocabulary),
  });
  defer(() => server.dispose());
  if (start.publish || (checkpoints !== undefined && start.origin !== 'checkpoint')) {
    await persistAndPublish({
      state: server.stateView(),
      gradientOffsets: start.gradientOffsets,
      modelId,
      spec,
      checkpoints,
      publisher,
      publish: start.publish,
    });
  }
  metrics.paramVersion.set(server.version);
  log.info(
    {
      origin: start.origin,
      version: server.version,
      // true: the checkpoint was ahead of the topic (a crash before the commit) and went out now.
      publishedAtStart: start.publish,
      gradientOffsets: start.gradientOffsets,
      parameters: server.parameterCount,
      mode: config.paramserver.mode,
      checkpointDir: checkpointDir ?? null,
      metrics: metricsUrl ?? null,
    },
    `paramserver ready at version ${server.version} (${start.origin})`,
  );
  return { server, start, publisher, checkpoints };
}

/** Where to continue from, given the checkpoint, the last published version and the gradients' ends. */
async function decideStart(
  { config, modelId, spec, client, admin, topics, log }: ServiceContext,
  {
    publisher,
    checkpoints,
    initPath,
  }: {
    publisher: ParamsPublisher;
    checkpoints: CheckpointStore | undefined;
    initPath?: string | undefined;
  },
): Promise<StartState> {
  const [published, gradientEnds, checkpoint] = await Promise.all([
    publisher.published(admin),
    topicEndOffsets({ admin, topic: topics.gradients, brokers: client.brokers }),
    checkpoints?.read(),
  ]);
  return resolveStartState({
    spec,
    seed: config.seed,
    modelId,
    checkpoint,
    published,
    gradientEnds,
    initPath,
    logger: log,
    readPublishedParams: async (version) => {
      const follower = followParams({ client, app: config.app, modelId });
      try {
        const params = await follower.waitForVersion({ minVersion: version, timeoutMs: 60_000 });
        if (params.version !== version)
          throw new Error(`expected published version ${version}, found ${params.version}`);
        return params;
      } finally {
        await follower.stop();
      }
    },
  });
}
