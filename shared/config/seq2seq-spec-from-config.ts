import type { Seq2seqSpec } from '../model/seq2seq/seq2seq-spec.js';
import type { Config } from './config-schema.js';

/** The encoder–decoder the configuration asks for (task.type "seq2seq"). */
export function seq2seqSpecFromConfig(config: Config): Seq2seqSpec {
  const { input, model, seq2seq } = config;
  return {
    sourceVocabSize: input.vocabSize,
    targetVocabSize: seq2seq.targetVocabSize ?? input.vocabSize,
    cell: model.cell,
    layers: model.layers,
    hidden: model.hidden,
    encoderHidden: seq2seq.encoderHidden ?? model.hidden,
    embedding: model.embedding,
    peepholes: model.peepholes,
    coupledGates: model.coupledGates,
    reverseSource: seq2seq.reverseSource,
    bidirectional: model.bidirectional,
    attention: seq2seq.attention,
    attentionSize: seq2seq.attentionSize,
  };
}
