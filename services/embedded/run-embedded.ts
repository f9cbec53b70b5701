import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Config } from '../../shared/config/index.js';
import { asInputError, ConfigError, type InputError } from '../../shared/errors/index.js';
import { readJsonlEvents, readTextEvents, type ParsedRecord } from '../../shared/events/index.js';
import { createLearner, type Learner } from '../../shared/learner/create-learner.js';
import { encodeEvent } from '../../shared/learner/event-encoder.js';
import { InProcessParameterService } from '../../shared/learner/in-process-parameter-service.js';
import { readTextWordEvents } from '../../shared/events/text-word-source.js';
import { serverVocabularyFromConfig } from '../../shared/vocabulary/server-vocabulary-from-config.js';
import { OOV_ID } from '../../shared/vocabulary/vocabulary.js';
import { wordsVocabulary } from '../../shared/vocabulary/words-tokenizer.js';
import type { StreamLearner } from '../../shared/learner/stream-learner.js';
import type { Prediction } from '../../shared/events/prediction.js';
import { tallyPredictions } from '../../shared/evaluation/index.js';
import type { Logger } from '../../shared/logging/logger.js';
import {
  KeyStateGauges,
  recordPredictions,
  recordTrainStep,
  type WorkerMetrics,
} from '../../shared/metrics/worker-metrics.js';
import { parameterServerOptionsFromConfig } from '../../shared/paramserver/parameter-server.js';
import { createInProcessBus } from '../../shared/transport/in-process-bus.js';
import { learnFromTopic, type EndOfInput, type QueuedEvent } from './learn-from-topic.js';
import { PrequentialSummary, type RunSummary, type TrainingReport } from './prequential-summary.js';
import { RunHistoryRecorder, type RunHistory } from './run-history.js';

export type InputFormat = 'jsonl' | 'text';

export interface RunEmbeddedOptions {
  readonly config: Config;
  readonly inputPaths: readonly string[];
  readonly inputFormat: InputFormat;
  /** Where one JSON prediction per event goes; undefined = not written. */
  readonly outputPath?: string | undefined;
  readonly logger: Logger;
  /** Aborting stops reading input; what was read is still processed and summarised. */
  readonly signal?: AbortSignal | undefined;
  readonly training?: boolean;
  readonly progressIntervalMs?: number;
  /** Called with every progress snapshot (and the learner, e.g. to print a generated sample). */
  readonly onProgress?: (progress: RunSummary, learner: Learner) => void;
  /** Truncates each text file (quick runs on big corpora). */
  readonly maxBytesPerFile?: number | undefined;
  /**
   * Prometheus families to update (`run --embedded --metrics-port`): the Kafka worker's, as the
   * embedded run is that worker without Kafka (its transaction and restore families stay at 0).
   */
  readonly metrics?: WorkerMetrics | undefined;
}

const MAX_REPORTED_BAD_RECORDS = 1000;

/**
 * `rnnstream run --embedded`: streams the input in order through an in-process bus into one
 * learner, writing a prediction for every event before learning from it (prequential), and
 * returns the summary of docs/design.md §7 and the history of the run (learning curve and
 * throughput, for `--report`). Bad records are reported with their line and skipped; they never
 * stop the run.
 */
export async function runEmbedded(
  options: RunEmbeddedOptions,
): Promise<{ summary: RunSummary; history: RunHistory; learner: Learner }> {
  const { config, logger, signal } = options;
  if (config.task.type === 'seq2seq')
    throw new ConfigError(
      'task.type "seq2seq" learns from pairs, not per-step events (fix: run it with runSeq2seqEmbedded, as `rnnstream run --embedded` does)',
    );
  const topic = `${config.app}.events`;
  const bus = createInProcessBus<QueuedEvent>({ highWaterMark: 16_384 });
  const metrics = options.metrics;
  const words = await serverVocabularyFromConfig(config);
  const learner = createLearner({
    config,
    ...(metrics ? { onTrainStep: (result) => recordTrainStep(metrics, result) } : {}),
    gradientSink:
      (options.training ?? true)
        ? (model, tokenizer) =>
            new InProcessParameterService({
              model,
              options: parameterServerOptionsFromConfig(config),
              words: words && { server: words, local: wordsVocabulary(tokenizer) },
              onDrop: (why) =>
                logger.warn({ why }, 'gradient not applied; the parameters stay as they were'),
            })
        : undefined,
  });
  const { learner: streamLearner, normalizer } = learner.openKeySpace();
  const summary = new PrequentialSummary({
    task: config.task.type,
    vocabSize: config.input.vocabSize,
    ngram: {
      order: config.evaluation.ngramOrder,
      maxContexts: config.evaluation.ngramMaxContexts,
      maxKeys: config.state.maxKeys,
    },
    horizon: config.task.horizon,
    oovId: config.input.tokenizer === 'words' ? OOV_ID : undefined,
  });
  const history = new RunHistoryRecorder(() => summary.snapshot());
  const output = options.outputPath ? createWriteStream(options.outputPath) : undefined;
  let reported = 0;
  const reportBad = (line: number | undefined, error: InputError): void => {
    summary.skip();
    if (reported++ < MAX_REPORTED_BAD_RECORDS)
      logger.warn({ line, reason: error.message }, 'skipped bad input record');
    else if (reported === MAX_REPORTED_BAD_RECORDS + 1)
      logger.warn(
        {},
        `more than ${MAX_REPORTED_BAD_RECORDS} bad records: further ones are counted in the summary but not logged`,
      );
  };

  const produce = async (): Promise<void> => {
    const producer = bus.producer();
    let index = 0;
    let pending: Array<{ key: string; value: QueuedEvent }> = [];
    try {
      for await (const record of openSource(options)) {
        if (signal?.aborted) break;
        if ('error' in record) {
          index++;
          reportBad(record.line, record.error);
          continue;
        }
        pending.push({
          key: record.event.key,
          value: { event: record.event, line: record.line, index: index++ },
        });
        if (pending.length >= 1024) {
          await producer.send({ topic, messages: pending });
          pending = [];
        }
      }
      await producer.send({ topic, messages: pending });
    } finally {
      bus.close(topic);
    }
  };

  const keyStateGauges = metrics && new KeyStateGauges(metrics, Date.now);

  const consume = async (): Promise<EndOfInput> => {
    const progressEvery = options.progressIntervalMs ?? 0;
    let nextProgress = Date.now() + progressEvery;
    return learnFromTopic({
      bus,
      topic,
      maxBatchSize: 4096,
      learner: streamLearner,
      encode: (value) => {
        try {
          return encodeEvent({
            ...value,
            spec: learner.spec,
            tokens: learner.tokenizer,
            labels: learner.labels,
            normalizer,
          });
        } catch (err) {
          // One event's failure, whatever it is, skips that event alone.
          reportBad(value.line, asInputError(err, value.line));
          return undefined;
        }
      },
      onPredictions: async (predictions, events) => {
        predictions.forEach((p, i) => {
          summary.observe(p, events[i]?.token);
          history.afterPrediction();
        });
        if (metrics) {
          metrics.eventsProcessed.inc(predictions.length);
          recordPredictions(metrics, tallyPredictions(predictions));
        }
        if (output) await writeLines(output, predictions);
      },
      onRejected: ({ line, error }) => reportBad(line, error),
      onBatch: () => {
        history.afterBatch();
        keyStateGauges?.observe({
          keys: streamLearner.store.size,
          paramVersion: learner.model.params.version,
          stateBytes: () => streamLearner.store.byteLength(),
        });
        if (progressEvery > 0 && Date.now() >= nextProgress) {
          nextProgress = Date.now() + progressEvery;
          options.onProgress?.(summary.snapshot(), learner);
        }
      },
    });
  };

  let endOfInput: EndOfInput;
  try {
    [, endOfInput] = await Promise.all([produce(), consume()]);
  } finally {
    if (output) {
      output.end();
      await once(output, 'close');
    }
  }
  const final = summary.snapshot();
  return {
    history: history.finish(final),
    summary: {
      ...final,
      training: learner.trainer
        ? trainingReport({ trainSteps: learner.trainer.steps, endOfInput, streamLearner })
        : undefined,
      storage: streamLearner.storagePerKey(),
    },
    learner,
  };
}

function openSource(options: RunEmbeddedOptions): AsyncIterable<ParsedRecord> {
  if (options.inputFormat === 'text' && options.config.input.tokenizer === 'words')
    return readTextWordEvents([...options.inputPaths], options.config.input);
  if (options.inputFormat === 'text')
    return readTextEvents([...options.inputPaths], {
      maxBytesPerFile: options.maxBytesPerFile ?? Infinity,
    });
  return (async function* () {
    for (const path of options.inputPaths)
      yield* readJsonlEvents(path, { limits: options.config.limits });
  })();
}

async function writeLines(output: WriteStream, predictions: readonly Prediction[]): Promise<void> {
  if (predictions.length === 0) return;
  const text = predictions.map((p) => JSON.stringify(p)).join('\n') + '\n';
  if (!output.write(text)) await once(output, 'drain');
}

/** The summary's `training` entry: what was trained, and how many steps were not and why. */
function trainingReport({
  trainSteps,
  endOfInput,
  streamLearner,
}: {
  trainSteps: number;
  endOfInput: EndOfInput;
  streamLearner: StreamLearner;
}): TrainingReport {
  const untrained = {
    evicted: streamLearner.untrainedStepsEvicted,
    beyondMaxSequenceSteps: streamLearner.untrainedStepsBeyondWindow,
    withoutEos: streamLearner.untrainedStepsWithoutEos,
  };
  const segmentOverflow = streamLearner.untrainedStepsSegmentOverflow;
  return {
    trainSteps,
    endOfInputSteps: endOfInput.steps,
    untrainedSteps:
      untrained.evicted + untrained.beyondMaxSequenceSteps + untrained.withoutEos + segmentOverflow,
    untrained: streamLearner.predictsAtSegmentEnd ? { ...untrained, segmentOverflow } : untrained,
  };
}
