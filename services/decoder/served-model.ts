/**
 * The model a decoder serves, built from its config: what parameter versions go into, how a
 * request becomes work, what computes a batch, and the per-key state view if the model has per-key
 * state. A recurrent stream model (lm, tag, classify, forecast) is built as a worker builds it and
 * reads keys' states from the changelog; a seq2seq model answers transduce requests only, and
 * keeps no per-key state (pairs stand alone), so it has no state view.
 */
import type { DecodeRequest } from '../../shared/codec/decode-codec.js';
import type { Config } from '../../shared/config/index.js';
import { seq2seqSpecFromConfig } from '../../shared/config/index.js';
import { createTokenizer } from '../../shared/events/index.js';
import { createLearner } from '../../shared/learner/create-learner.js';
import type { Logger } from '../../shared/logging/index.js';
import type { ParameterSet } from '../../shared/model/parameter-set.js';
import { Seq2seqModel } from '../../shared/model/seq2seq/seq2seq-model.js';
import { windowScheduleFor } from '../../shared/tbptt/window-schedule.js';
import type { KafkaClient } from '../../shared/transport/kafka/index.js';
import type { Vocabulary } from '../../shared/vocabulary/vocabulary.js';
import { wordsVocabulary } from '../../shared/vocabulary/words-tokenizer.js';
import { DecodeEngine, type PartialResult } from './decode-engine.js';
import { decodeWorkOf, type DecodeWork, type ServedTask } from './decode-jobs.js';
import { StateView } from './state-view.js';
import { transduceEngine } from './transduce-engine.js';
import { SEQ2SEQ_TASK, transduceWorkOf } from './transduce-jobs.js';

export interface ServedModel {
  readonly task: ServedTask;
  /** What each published parameter version is put into (between batches). */
  readonly model: { readonly params: ParameterSet };
  /** input.tokenizer "words": the vocabulary each applied version brings up to date. */
  readonly vocabulary: Vocabulary | undefined;
  /** The changelog view of keys' states; absent when the model keeps none (seq2seq). */
  readonly stateView: StateView | undefined;
  readonly engine: Pick<DecodeEngine, 'compute'>;
  /** The work of a valid request; a DecodeRejection otherwise. */
  workOf(request: DecodeRequest): DecodeWork;
  dispose(): void;
}

export interface ServedModelOptions {
  readonly config: Config;
  readonly client: KafkaClient;
  /** The app's `<app>.state-changelog`. */
  readonly changelogTopic: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Sends streamed partial results of generation. */
  readonly sendPartials: (partials: readonly PartialResult[]) => Promise<void>;
}

export function createServedModel(options: ServedModelOptions): ServedModel {
  return options.config.task.type === 'seq2seq'
    ? seq2seqServedModel(options)
    : streamServedModel(options);
}

/** The model, tokenizer and labels exactly as a worker builds them (no trainer: inference only). */
function streamServedModel({
  config,
  client,
  changelogTopic,
  logger,
  now,
  sendPartials,
}: ServedModelOptions): ServedModel {
  const learner = createLearner({ config });
  const { spec, model, tokenizer, labels } = learner;
  const stateView = new StateView({
    client,
    topic: changelogTopic,
    shape: {
      spec,
      stateSize: model.stateSize,
      schedule: windowScheduleFor(spec.task, {
        k1: config.tbptt.k1,
        k2: config.tbptt.k2,
        maxSequenceSteps: config.task.maxSequenceSteps,
        bidirectional: spec.bidirectional,
      }),
    },
    logger,
  });
  const jobs = {
    app: config.app,
    spec,
    tokenizer,
    bounds: config.decoder,
    maxKeyBytes: config.limits.maxKeyBytes,
  };
  return {
    task: spec,
    model,
    vocabulary: tokenizer.kind === 'words' ? wordsVocabulary(tokenizer) : undefined,
    stateView,
    engine: new DecodeEngine({
      model,
      spec,
      tokenizer,
      labels,
      stateView,
      now,
      sendPartials,
      logger,
    }),
    workOf: (request) => decodeWorkOf(request, jobs),
    dispose: () => learner.dispose(),
  };
}

/** The encoder–decoder of the config; sources and targets through input.tokenizer, as pairs are. */
function seq2seqServedModel({ config, now }: ServedModelOptions): ServedModel {
  const spec = seq2seqSpecFromConfig(config);
  const model = Seq2seqModel.create({ spec, seed: config.seed });
  const kind = config.input.tokenizer;
  const context = {
    app: config.app,
    sourceTokens: createTokenizer({ kind, vocabSize: spec.sourceVocabSize }),
    maxSourceLength: config.seq2seq.maxSourceLength,
    maxTargetLength: config.seq2seq.maxTargetLength,
    bounds: config.decoder,
  };
  return {
    task: SEQ2SEQ_TASK,
    model,
    vocabulary: undefined,
    stateView: undefined,
    engine: transduceEngine({
      model,
      targetTokens: createTokenizer({ kind, vocabSize: spec.targetVocabSize }),
      now,
    }),
    workOf: (request) => transduceWorkOf(request, context),
    dispose: () => model.dispose(),
  };
}
