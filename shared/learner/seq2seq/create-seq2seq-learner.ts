import type { Config } from '../../config/index.js';
import { seq2seqSpecFromConfig } from '../../config/seq2seq-spec-from-config.js';
import type { TransductionStrategy } from '../../decoding/transduce.js';
import { createTokenizer } from '../../events/index.js';
import type { ParameterSet } from '../../model/parameter-set.js';
import { Seq2seqModel } from '../../model/seq2seq/seq2seq-model.js';
import type { GradientSink } from '../../tbptt/gradient-sink.js';
import type { PairEncoding } from './pair-encoder.js';
import { Seq2seqLearner, type Seq2seqTrainStep } from './seq2seq-learner.js';

/** The decoding of prequential hypotheses the config asks for (seq2seq.decode). */
export function transductionStrategyFromConfig({ seq2seq }: Config): TransductionStrategy {
  return seq2seq.decode === 'greedy'
    ? { type: 'greedy' }
    : { type: 'beam', beamWidth: seq2seq.beamWidth, lengthPenalty: seq2seq.lengthPenalty };
}

/**
 * The one place a seq2seq learner is wired from a validated config — model, the source and
 * target tokenizers with the length bounds, the learner — so an embedded run and a worker learn
 * by the same rules and differ only in where gradients go.
 */
export function createSeq2seqLearner({
  config,
  gradientSink,
  workerId,
  onTrainStep,
}: {
  config: Config;
  gradientSink?: ((model: { params: ParameterSet }) => GradientSink) | undefined;
  workerId?: string;
  onTrainStep?: ((step: Seq2seqTrainStep) => void) | undefined;
}): { learner: Seq2seqLearner; encoding: PairEncoding; dispose(): void } {
  const spec = seq2seqSpecFromConfig(config);
  const model = Seq2seqModel.create({ spec, seed: config.seed });
  const kind = config.input.tokenizer;
  const targetTokens = createTokenizer({ kind, vocabSize: spec.targetVocabSize });
  const learner = new Seq2seqLearner({
    model,
    targetTokens,
    sink: gradientSink?.(model),
    ...(workerId ? { workerId } : {}),
    strategy: transductionStrategyFromConfig(config),
    maxTargetLength: config.seq2seq.maxTargetLength,
    batchPairs: config.seq2seq.batchPairs,
    onTrainStep,
  });
  return {
    learner,
    encoding: {
      sourceTokens: createTokenizer({ kind, vocabSize: spec.sourceVocabSize }),
      targetTokens,
      maxSourceLength: config.seq2seq.maxSourceLength,
      maxTargetLength: config.seq2seq.maxTargetLength,
    },
    dispose: () => model.dispose(),
  };
}
