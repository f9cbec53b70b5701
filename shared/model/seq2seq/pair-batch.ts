/**
 * A batch of (source, target) pairs as plain arrays, padded on the right to the longest source
 * and the longest target, with masks (docs/design.md, "Sequence to sequence"). Rows, source steps
 * and target steps are rounded up to the ladder of shared/model/batch-buckets.ts (padding rows
 * and steps carry no loss and get no attention): TensorFlow caches a kernel per tensor shape, so
 * a long stream of pairs of every length must meet few shapes.
 */
import { ShapeError } from '../../errors/index.js';
import { paddedBatchSize } from '../batch-buckets.js';
import { boundaryId, type Seq2seqSpec } from './seq2seq-spec.js';

export interface TokenPair {
  readonly source: readonly number[];
  readonly target: readonly number[];
}

/** Sources in the order the encoder reads them, right-padded with id 0 and masked. */
export interface SourceBatch {
  readonly batchSize: number;
  readonly steps: number;
  /** [B*T] token ids (reversed per source when spec.reverseSource). */
  readonly tokens: Int32Array;
  /** [B*T] 1 for a real source token, 0 for padding. */
  readonly mask: Float32Array;
}

export interface PairBatch {
  readonly sources: SourceBatch;
  /** Decoder steps: the longest target plus one (its end-of-target). */
  readonly targetSteps: number;
  /** [B*Tt] decoder inputs: BOS, y_1 .. y_n, then padding. */
  readonly decoderInputs: Int32Array;
  /** [B*Tt] what each decoder step must predict: y_1 .. y_n, end-of-target, then padding. */
  readonly targets: Int32Array;
  /** [B*Tt] 1 where a step has a target (n + 1 steps per pair). */
  readonly targetMask: Float32Array;
}

/** Padding to the shape ladder (default) or to the exact longest row (`bucket: false`). */
export interface BatchShape {
  readonly bucket?: boolean;
}

export function sourceBatch(
  spec: Pick<Seq2seqSpec, 'sourceVocabSize' | 'reverseSource'>,
  sources: ReadonlyArray<readonly number[]>,
  { bucket = true }: BatchShape = {},
): SourceBatch {
  const round = bucket ? paddedBatchSize : (n: number) => n;
  const batchSize = round(sources.length);
  const steps = round(Math.max(1, ...sources.map((s) => s.length)));
  const tokens = new Int32Array(batchSize * steps);
  const mask = new Float32Array(batchSize * steps);
  sources.forEach((source, b) => {
    if (source.length === 0)
      throw new ShapeError(`source ${b} is empty: every pair needs at least one source token`);
    const n = source.length;
    for (let j = 0; j < n; j++) {
      const id = source[spec.reverseSource ? n - 1 - j : j]!;
      checkId('source', b, j, id, spec.sourceVocabSize);
      tokens[b * steps + j] = id;
      mask[b * steps + j] = 1;
    }
  });
  return { batchSize, steps, tokens, mask };
}

export function pairBatch(
  spec: Seq2seqSpec,
  pairs: readonly TokenPair[],
  shape: BatchShape = {},
): PairBatch {
  const sources = sourceBatch(
    spec,
    pairs.map((p) => p.source),
    shape,
  );
  const round = (shape.bucket ?? true) ? paddedBatchSize : (n: number) => n;
  const boundary = boundaryId(spec);
  const targetSteps = round(Math.max(...pairs.map((p) => p.target.length)) + 1);
  const n = sources.batchSize * targetSteps;
  const decoderInputs = new Int32Array(n);
  const targets = new Int32Array(n);
  const targetMask = new Float32Array(n);
  pairs.forEach(({ target }, b) => {
    const row = b * targetSteps;
    decoderInputs[row] = boundary;
    target.forEach((id, t) => {
      checkId('target', b, t, id, spec.targetVocabSize);
      targets[row + t] = id;
      targetMask[row + t] = 1;
      if (t + 1 < targetSteps) decoderInputs[row + t + 1] = id;
    });
    targets[row + target.length] = boundary;
    targetMask[row + target.length] = 1;
  });
  // Padding rows read BOS and predict nothing.
  for (let b = pairs.length; b < sources.batchSize; b++) decoderInputs[b * targetSteps] = boundary;
  return { sources, targetSteps, decoderInputs, targets, targetMask };
}

function checkId(side: string, pair: number, at: number, id: number, size: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= size)
    throw new ShapeError(
      `${side} token ${id} at position ${at} of pair ${pair} is not an id in [0, ${size}) (fix: encode tokens with the model's tokenizer; input.vocabSize / seq2seq.targetVocabSize bound them)`,
    );
}
