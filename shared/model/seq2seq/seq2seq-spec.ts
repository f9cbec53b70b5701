/**
 * Shapes and parameters of the encoder–decoder model (docs/design.md, "Sequence to sequence").
 * No tensors here: the paramserver builds its initial parameters without a tensor backend.
 */
import type { CellDefinition } from '../cells/cell.js';
import { createElmanParams } from '../cells/elman-params.js';
import { createGruParams } from '../cells/gru-params.js';
import { createLstmParams } from '../cells/lstm-params.js';
import {
  bidirectionalLayerOptions,
  bidirectionalLayerParams,
} from '../bidirectional/bidirectional-params.js';
import { glorotUniform } from '../initializers.js';
import type { CellType } from '../model-spec.js';
import { createRng, type Rng } from '../random.js';

export type AttentionKind = 'none' | 'additive';

export interface Seq2seqSpec {
  /** Source token ids are in [0, sourceVocabSize). */
  readonly sourceVocabSize: number;
  /**
   * Target token ids are in [0, V), V = targetVocabSize. Id V is the sequence boundary: the
   * decoder's first input (BOS) and its last output (end of target).
   */
  readonly targetVocabSize: number;
  readonly cell: CellType;
  /** Layers of the encoder and of the decoder (each its own). */
  readonly layers: number;
  /** Hidden size of the decoder. */
  readonly hidden: number;
  /** Hidden size of the encoder; a learned bridge maps its final state when it differs. */
  readonly encoderHidden: number;
  /** Width of both token embeddings (source and target tables are separate). */
  readonly embedding: number;
  readonly peepholes: boolean;
  readonly coupledGates: boolean;
  /** Encoder reads each source last token first (Sutskever et al. 2014). */
  readonly reverseSource: boolean;
  /**
   * Encoder layers read the source both ways (shared/model/bidirectional): each h_j is
   * [h→_j, h←_j], and a bridge starts the decoder from both directions' final states.
   */
  readonly bidirectional: boolean;
  readonly attention: AttentionKind;
  /** Width A of the additive attention's hidden layer. */
  readonly attentionSize: number;
}

/** Id of the boundary token: BOS as a decoder input, end-of-target as an output. */
export function boundaryId(spec: Pick<Seq2seqSpec, 'targetVocabSize'>): number {
  return spec.targetVocabSize;
}

/** Floats per layer of the decoder state: h, plus c for the LSTM. */
export function decoderStateSizePerLayer(spec: Pick<Seq2seqSpec, 'cell' | 'hidden'>): number {
  return spec.cell === 'lstm' ? 2 * spec.hidden : spec.hidden;
}

/** Length of one decoder state vector `[h_0, c_0, h_1, c_1, ...]`. */
export function decoderStateSize(spec: Pick<Seq2seqSpec, 'cell' | 'hidden' | 'layers'>): number {
  return spec.layers * decoderStateSizePerLayer(spec);
}

/** Width of one encoder output h_j (what attention reads). */
export function encoderOutputSize(
  spec: Pick<Seq2seqSpec, 'encoderHidden' | 'bidirectional'>,
): number {
  return spec.bidirectional ? 2 * spec.encoderHidden : spec.encoderHidden;
}

/**
 * False when the decoder starts from the encoder's final state as it is (a unidirectional
 * encoder of the decoder's hidden size); otherwise a learned bridge h_0^l = tanh(h_enc W_bridge +
 * b_bridge) starts every decoder layer, h_enc the encoder's top final h (both directions').
 */
export function hasBridge(spec: Seq2seqSpec): boolean {
  return spec.bidirectional || spec.encoderHidden !== spec.hidden;
}

/** Width of the decoder's layer-0 input: the target embedding, plus the context with attention. */
export function decoderInputSize(spec: Seq2seqSpec): number {
  return spec.embedding + (spec.attention === 'additive' ? encoderOutputSize(spec) : 0);
}

/** Width of the output layer's input: the decoder's top h, plus the context with attention. */
export function outputInputSize(spec: Seq2seqSpec): number {
  return spec.hidden + (spec.attention === 'additive' ? encoderOutputSize(spec) : 0);
}

const CELL_PARAMS: Readonly<Record<CellType, CellDefinition['createParams']>> = {
  rnn: createElmanParams,
  lstm: createLstmParams,
  gru: createGruParams,
};

export interface NamedInit {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Seeded initial values of every parameter, in a fixed order. */
export function seq2seqInitialParameters(spec: Seq2seqSpec, seed: number): NamedInit[] {
  const rng = createRng(seed);
  const out: NamedInit[] = [];
  const V = spec.targetVocabSize;
  out.push(embeddingInit('encoder/embedding', spec.sourceVocabSize, spec.embedding, rng));
  if (spec.bidirectional) {
    const options = bidirectionalLayerOptions({ ...spec, hidden: spec.encoderHidden });
    for (const p of bidirectionalLayerParams(options, CELL_PARAMS[spec.cell], rng))
      out.push({ ...p, name: `encoder/${p.name}` });
  } else out.push(...stackInit('encoder', spec, spec.embedding, spec.encoderHidden, rng));
  out.push(embeddingInit('decoder/embedding', V + 1, spec.embedding, rng));
  out.push(...stackInit('decoder', spec, decoderInputSize(spec), spec.hidden, rng));
  if (hasBridge(spec)) {
    const cols = spec.layers * spec.hidden;
    out.push(dense('bridge/W', encoderOutputSize(spec), cols, rng));
    out.push({ name: 'bridge/b', shape: [cols], values: new Float32Array(cols) });
  }
  if (spec.attention === 'additive') {
    const A = spec.attentionSize;
    out.push(dense('attention/W', spec.hidden, A, rng));
    out.push(dense('attention/U', encoderOutputSize(spec), A, rng));
    out.push(dense('attention/v', A, 1, rng, [A]));
  }
  out.push(dense('output/W', outputInputSize(spec), V + 1, rng));
  out.push({ name: 'output/b', shape: [V + 1], values: new Float32Array(V + 1) });
  return out;
}

/** Small uniform rows (±0.05), as the language model's embedding. */
function embeddingInit(name: string, rows: number, width: number, rng: Rng): NamedInit {
  const values = new Float32Array(rows * width);
  for (let i = 0; i < values.length; i++) values[i] = (rng.uniform() * 2 - 1) * 0.05;
  return { name, shape: [rows, width], values };
}

function dense(name: string, rows: number, cols: number, rng: Rng, shape = [rows, cols]) {
  return { name, shape, values: glorotUniform({ rows, cols, rng }) };
}

function stackInit(
  prefix: string,
  spec: Seq2seqSpec,
  inputSize: number,
  hidden: number,
  rng: Rng,
): NamedInit[] {
  const out: NamedInit[] = [];
  for (let layer = 0; layer < spec.layers; layer++) {
    const options = {
      inputSize: layer === 0 ? inputSize : hidden,
      hidden,
      peepholes: spec.peepholes,
      coupledGates: spec.coupledGates,
    };
    for (const p of CELL_PARAMS[spec.cell](options, rng))
      out.push({
        name: `${prefix}/layer${layer}/${p.name}`,
        shape: [...p.shape],
        values: p.values,
      });
  }
  return out;
}
