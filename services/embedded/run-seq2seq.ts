/**
 * `rnnstream run --embedded` for task.type "seq2seq" (docs/design.md, "Sequence to sequence"):
 * the JSON-lines pairs in input order through one Seq2seqLearner — every pair predicted (its
 * teacher-forced bits and a decoded hypothesis) before a training step learns from it — with the
 * paramserver's own update rule in process, as for the other tasks. Pairs carry no state from one
 * to the next, so there is no key store, no window schedule and no end-of-input training beyond
 * the last batch.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { tf } from '../../shared/engine/tf.js';
import { asInputError, ConfigError, type InputError } from '../../shared/errors/index.js';
import { readJsonlEvents, type ParsedRecord } from '../../shared/events/index.js';
import type { Prediction } from '../../shared/events/prediction.js';
import { InProcessParameterService } from '../../shared/learner/in-process-parameter-service.js';
import { createSeq2seqLearner } from '../../shared/learner/seq2seq/create-seq2seq-learner.js';
import { encodePair, type EncodedPair } from '../../shared/learner/seq2seq/pair-encoder.js';
import type { Seq2seqLearner } from '../../shared/learner/seq2seq/seq2seq-learner.js';
import { parameterServerOptionsFromConfig } from '../../shared/paramserver/parameter-server.js';
import type { RunSummary } from './prequential-summary.js';
import { RunHistoryRecorder, type RunHistory } from './run-history.js';
import type { RunEmbeddedOptions } from './run-embedded.js';

const MAX_REPORTED_BAD_RECORDS = 1000;
/** Pairs read before they are handed to the learner (it cuts them into batchPairs batches). */
const READ_CHUNK = 256;

export interface Seq2seqRun {
  readonly summary: RunSummary;
  readonly history: RunHistory;
  readonly learner: Seq2seqLearner;
  dispose(): void;
}

export async function runSeq2seqEmbedded(
  options: Omit<RunEmbeddedOptions, 'onProgress'> & {
    readonly onProgress?: ((progress: RunSummary) => void) | undefined;
  },
): Promise<Seq2seqRun> {
  const { config, logger, signal } = options;
  if (options.inputFormat !== 'jsonl')
    throw new ConfigError(
      `--input-format ${options.inputFormat}: a seq2seq model learns from pair events (fix: write one JSON line {"key": .., "source": [..], "target": [..]} per pair and use --input-format jsonl)`,
    );
  const parts = createSeq2seqLearner({
    config,
    gradientSink:
      (options.training ?? true)
        ? (model) =>
            new InProcessParameterService({
              model,
              options: parameterServerOptionsFromConfig(config),
              onDrop: (why) =>
                logger.warn({ why }, 'gradient not applied; the parameters stay as they were'),
            })
        : undefined,
  });
  const { learner, encoding } = parts;
  const started = Date.now();
  const keys = new Set<string>();
  let events = 0;
  let skipped = 0;
  const snapshot = (): RunSummary => {
    const figures = learner.scores.figures();
    const seconds = (Date.now() - started) / 1000;
    return {
      events,
      keys: keys.size,
      skipped,
      tokensPerSecond: seconds > 0 ? events / seconds : 0,
      metrics: {
        bitsPerToken: figures.bitsPerToken,
        exactMatch: figures.exactMatch,
        tokenErrorRate: figures.tokenErrorRate,
      },
      recent: {},
      baselines: {},
      paramVersion: learner.model.params.version,
      seconds,
      liveTensors: tf.memory().numTensors,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
  };
  const history = new RunHistoryRecorder(snapshot);
  const output = options.outputPath ? createWriteStream(options.outputPath) : undefined;
  const reportBad = (line: number | undefined, error: InputError): void => {
    skipped++;
    if (skipped <= MAX_REPORTED_BAD_RECORDS)
      logger.warn({ line, reason: error.message }, 'skipped bad input record');
    else if (skipped === MAX_REPORTED_BAD_RECORDS + 1)
      logger.warn(
        {},
        `more than ${MAX_REPORTED_BAD_RECORDS} bad records: further ones are counted in the summary but not logged`,
      );
  };
  const progressEvery = options.progressIntervalMs ?? 0;
  let nextProgress = Date.now() + progressEvery;
  const learn = async (pairs: EncodedPair[]): Promise<void> => {
    if (pairs.length === 0) return;
    const predictions = await learner.process(pairs);
    for (const p of predictions) {
      events++;
      keys.add(p.key);
      history.afterPrediction();
    }
    options.metrics?.eventsProcessed.inc(predictions.length);
    if (output) await writeLines(output, predictions);
    history.afterBatch();
    if (progressEvery > 0 && Date.now() >= nextProgress) {
      nextProgress = Date.now() + progressEvery;
      options.onProgress?.(snapshot());
    }
    // Training is synchronous compute: let timers, I/O and signal handlers run between chunks.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };

  try {
    let index = 0;
    let pending: EncodedPair[] = [];
    for await (const record of readAll(options)) {
      if (signal?.aborted) break;
      const at = index++;
      if ('error' in record) {
        reportBad(record.line, record.error);
        continue;
      }
      try {
        pending.push(encodePair({ event: record.event, index: at, line: record.line }, encoding));
      } catch (error) {
        // One pair's failure, whatever it is, skips that pair alone.
        reportBad(record.line, asInputError(error, record.line));
        continue;
      }
      if (pending.length >= READ_CHUNK) {
        await learn(pending);
        pending = [];
      }
    }
    await learn(pending);
  } finally {
    if (output) {
      output.end();
      await once(output, 'close');
    }
  }
  const final = snapshot();
  return {
    summary: {
      ...final,
      training: {
        trainSteps: learner.steps,
        endOfInputSteps: 0,
        untrainedSteps: 0,
        untrained: { evicted: 0, beyondMaxSequenceSteps: 0, withoutEos: 0 },
      },
    },
    history: history.finish(final),
    learner,
    dispose: () => parts.dispose(),
  };
}

function readAll(options: RunEmbeddedOptions): AsyncIterable<ParsedRecord> {
  return (async function* () {
    for (const path of options.inputPaths)
      yield* readJsonlEvents(path, { limits: options.config.limits });
  })();
}

async function writeLines(output: WriteStream, predictions: readonly Prediction[]): Promise<void> {
  const text = predictions.map((p) => JSON.stringify(p)).join('\n') + '\n';
  if (!output.write(text)) await once(output, 'drain');
}
