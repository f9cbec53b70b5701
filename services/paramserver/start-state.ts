import type { DecodedParams } from '../../shared/codec/param-codec.js';
import { ConfigError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { loadParameterFile } from '../../shared/model/parameter-file.js';
import { wordsOfParameterFile } from '../../shared/vocabulary/parameter-file-vocabulary.js';
import { vocabularyFromWords } from '../../shared/vocabulary/server-vocabulary.js';
import {
  initialParametersOf,
  isSeq2seqSpec,
  sameParamsSpec,
  type ParamsSpec,
} from '../../shared/model/params-spec.js';
import type {
  GradientPosition,
  ParameterServerState,
  ParamserverCheckpoint,
} from '../../shared/paramserver/index.js';
import type { PublishedMarker } from './params-publisher.js';

export interface StartState {
  readonly state: ParameterServerState;
  /** Where to read `<app>.gradients` from, every partition. */
  readonly gradientOffsets: GradientPosition[];
  /** The state's version is not on the params topic yet: publish it before anything else. */
  readonly publish: boolean;
  /** Where the state came from, for the start-up log. */
  readonly origin: 'fresh' | 'checkpoint' | 'published';
}

/**
 * Decides where a starting paramserver continues from, given its checkpoint (if any) and the
 * last version the offsets group says was published (if any). The checkpoint of version c is
 * written before c is published, so exactly these cases occur:
 *
 *   checkpoint c, published c       → continue from the checkpoint
 *   checkpoint c, published c − 1   → crashed between checkpoint and commit: publish c, continue
 *   checkpoint c, nothing published → topics were reset: publish c (warned)
 *   no checkpoint, nothing published → first start: --init file or seeded initialiser, version 0,
 *                                       reading gradients from the topic's end
 *   no checkpoint, published p      → parameters of p from the topic, fresh optimizer (warned:
 *                                       not bit-exact; use --checkpoint-dir)
 * Anything else (published beyond the checkpoint, or a gap) is a ConfigError with the fix.
 */
export async function resolveStartState({
  spec,
  seed,
  modelId,
  checkpoint,
  published,
  gradientEnds,
  initPath,
  readPublishedParams,
  logger,
}: {
  spec: ParamsSpec;
  seed: number;
  modelId: string;
  checkpoint: ParamserverCheckpoint | undefined;
  published: PublishedMarker | undefined;
  /** Per partition of `<app>.gradients`: first stored offset and next offset to be written. */
  gradientEnds: ReadonlyArray<{ partition: number; low: number; high: number }>;
  initPath: string | undefined;
  readPublishedParams: (version: number) => Promise<DecodedParams>;
  logger: Logger;
}): Promise<StartState> {
  // Partitions missing from saved offsets (the topic grew) hold only new gradients.
  const complete = (offsets: readonly GradientPosition[]): GradientPosition[] => {
    const known = new Map(offsets.map((p) => [p.partition, p.offset]));
    return gradientEnds.map(({ partition, low }) => ({
      partition,
      offset: known.get(partition) ?? low,
    }));
  };

  if (checkpoint !== undefined) {
    if (!sameParamsSpec(checkpoint.spec, spec)) {
      throw new ConfigError(
        `the checkpoint of model '${modelId}' was written for another model configuration (checkpoint: ${JSON.stringify(checkpoint.spec)}; config: ${JSON.stringify(spec)}) ` +
          `(fix: use the configuration the checkpoint was made with, or a new --model-id / --checkpoint-dir to start another model)`,
      );
    }
    const c = checkpoint.version;
    const p = published?.version;
    if (p !== undefined && p !== c && p !== c - 1) {
      throw new ConfigError(
        `the checkpoint of model '${modelId}' is at version ${c} but version ${p} was published last; ` +
          (p > c
            ? `the checkpoint is stale or belongs to another deployment `
            : `versions ${p + 1}..${c - 1} were never published, which a checkpoint of this paramserver cannot produce `) +
          `(fix: point --checkpoint-dir at this deployment's checkpoint, or move the file away to continue from published version ${p} with a fresh optimizer state)`,
      );
    }
    if (p === undefined)
      logger.warn(
        { version: c },
        'no version of this model was ever published on this cluster (new or reset topics); publishing the checkpoint version',
      );
    if (initPath !== undefined)
      logger.warn({ initPath }, '--init ignored: continuing from the checkpoint');
    return {
      state: checkpoint,
      gradientOffsets: complete(checkpoint.gradientOffsets),
      publish: p !== c,
      origin: 'checkpoint',
    };
  }

  if (published !== undefined) {
    logger.warn(
      { version: published.version },
      'no checkpoint: continuing from the published parameters with a fresh optimizer state, so the next versions are not those an uninterrupted run would publish (fix: run with --checkpoint-dir on a persistent volume)',
    );
    if (initPath !== undefined)
      logger.warn({ initPath }, '--init ignored: versions of this model were published already');
    const params = await readPublishedParams(published.version);
    return {
      state: {
        version: published.version,
        scheduleStep: published.version,
        params: [...params.tensors].map(([name, { shape, data }]) => ({
          name,
          shape,
          values: data,
        })),
        // input.tokenizer "words": the ids the workers already use go on.
        ...(params.vocabulary === undefined
          ? {}
          : { vocabulary: vocabularyFromWords(params.vocabulary, wordCapacity(spec)) }),
      },
      gradientOffsets: complete(published.gradientOffsets),
      publish: false,
      origin: 'published',
    };
  }

  let params: ParameterServerState['params'];
  let vocabulary: ParameterServerState['vocabulary'];
  if (initPath !== undefined) {
    const file = await loadParameterFile(initPath);
    if (!sameParamsSpec(file.spec, spec)) {
      throw new ConfigError(
        `--init ${initPath}: the parameters were saved for another model configuration (file: ${JSON.stringify(file.spec)}; config: ${JSON.stringify(spec)}) ` +
          `(fix: use the configuration the file was saved with, or drop --init for seeded initial parameters)`,
      );
    }
    params = [...file.arrays].map(([name, { shape, data }]) => ({ name, shape, values: data }));
    // A words model's file keeps the ids its parameters were trained with.
    const words = wordsOfParameterFile(file, initPath);
    if (words !== undefined)
      vocabulary = vocabularyFromWords(words.vocabulary.words(), wordCapacity(spec));
  } else {
    params = initialParametersOf(spec, seed);
  }
  return {
    state: { version: 0, scheduleStep: 0, params, ...(vocabulary ? { vocabulary } : {}) },
    // Gradients already on the topic were computed on another run's parameters.
    gradientOffsets: gradientEnds.map(({ partition, high }) => ({ partition, offset: high })),
    publish: true,
    origin: 'fresh',
  };
}

/** Rows of the words vocabulary (a seq2seq model takes no words: its source table then). */
function wordCapacity(spec: ParamsSpec): number {
  return isSeq2seqSpec(spec) ? spec.sourceVocabSize : spec.vocabSize;
}
