/**
 * The configuration file, loaded as every command loads it (shared/config), and a summary of the
 * model it describes: task, input, network, parameter count, state per key, training.
 */
import {
  defaultConfig,
  loadConfigFile,
  modelSpecFromConfig,
  seq2seqSpecFromConfig,
  type Config,
} from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { initialParameters } from '../../shared/model/initial-parameters.js';
import { stateSize } from '../../shared/model/model-spec.js';
import { seq2seqInitialParameters } from '../../shared/model/seq2seq/seq2seq-spec.js';
import { fail, ok, type Finding } from './finding.js';

export async function checkConfig({
  path,
}: {
  /** The --config file; undefined: the defaults. */
  path: string | undefined;
}): Promise<{ findings: Finding[]; config: Config | undefined }> {
  let config: Config;
  try {
    config = path === undefined ? defaultConfig() : await loadConfigFile(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      findings: [
        fail(
          'config',
          error.message,
          `edit ${path} as each line says (every key and its default: README.md, "Configuration")`,
        ),
      ],
      config: undefined,
    };
  }
  const source = path === undefined ? 'no --config: every key at its default' : `${path} is valid`;
  return {
    findings: [
      ok('config', `${source}; app "${config.app}" (topics ${config.app}.*)`),
      ok('model', describeModel(config)),
    ],
    config,
  };
}

/** One line a person reads to recognise the model: what it learns, its size, how it trains. */
export function describeModel(config: Config): string {
  if (config.task.type === 'seq2seq') return describeSeq2seq(config);
  const spec = modelSpecFromConfig(config);
  const { task, input, model, tbptt, optimizer, paramserver, state } = config;
  const inputs =
    input.kind === 'tokens'
      ? `${input.tokenizer} tokens (vocabulary ${input.vocabSize})`
      : `${input.featureSize} features${input.normalize ? ' (normalised)' : ''}`;
  const head =
    task.type === 'lm'
      ? `next-token softmax over ${spec.outputSize}`
      : task.type === 'forecast'
        ? `next ${spec.outputSize} features`
        : `${spec.outputSize} ${task.labels ? 'labels' : 'label slots (discovered)'}`;
  const parameters = initialParameters(spec, config.seed).reduce(
    (sum, p) => sum + p.values.length,
    0,
  );
  const floatsPerKey = stateSize(spec);
  return (
    `${task.type}: ${inputs} -> ${model.cell} ${model.layers}×${model.hidden} (embedding ${model.embedding}) -> ${head}; ` +
    `${parameters.toLocaleString('en-US')} parameters (${mebibytes(parameters * 4)} float32); ` +
    `state ${floatsPerKey} floats per key (${mebibytes(floatsPerKey * 4 * state.maxKeys)} for state.maxKeys ${state.maxKeys}); ` +
    `TBPTT k1=${tbptt.k1} k2=${tbptt.k2}; ${optimizer.type} lr ${optimizer.learningRate}; paramserver ${paramserver.mode}`
  );
}

/** A seq2seq model: encoder, decoder, attention; no per-key state (pairs are complete). */
function describeSeq2seq(config: Config): string {
  const spec = seq2seqSpecFromConfig(config);
  const parameters = seq2seqInitialParameters(spec, config.seed).reduce(
    (sum, p) => sum + p.values.length,
    0,
  );
  const encoder = `${spec.bidirectional ? 'bidirectional ' : ''}${spec.cell} ${spec.layers}×${spec.encoderHidden}${spec.reverseSource ? ' (source reversed)' : ''}`;
  return (
    `seq2seq: ${config.input.tokenizer} tokens (source vocabulary ${spec.sourceVocabSize}, target ${spec.targetVocabSize}) -> encoder ${encoder} -> ` +
    `decoder ${spec.cell} ${spec.layers}×${spec.hidden}${spec.attention === 'additive' ? ` with additive attention (${spec.attentionSize})` : ''}; ` +
    `${parameters.toLocaleString('en-US')} parameters (${mebibytes(parameters * 4)} float32); no state per key; ` +
    `${config.seq2seq.batchPairs} pairs per step; ${config.optimizer.type} lr ${config.optimizer.learningRate}; ` +
    `pairs carry no state, so workers keep no key states (only their progress)`
  );
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 1)} MiB`;
}
