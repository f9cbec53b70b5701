import type { DecodedParams } from '../codec/param-codec.js';
import type { Logger } from '../logging/index.js';
import type { ParameterSet } from '../model/parameter-set.js';

/** Whatever model holds the parameters: a recurrent stream model or an encoder–decoder. */
type ParameterHolder = { readonly params: ParameterSet };
import type { Vocabulary } from '../vocabulary/vocabulary.js';
import { applyParams } from './apply-params.js';
import { followParams, type ParamsFollower } from './follow-params.js';
import type { KafkaClient } from '../transport/kafka/index.js';

/**
 * The parameters a training worker or a decoder uses: the versions the paramserver publishes on
 * `<app>.params`. The newest one is held until applyNewest() puts it into the model between
 * batches, so one batch's predictions, states and gradients (or decode results) all use one
 * version.
 */
export class PublishedParams {
  private readonly model: ParameterHolder;
  private readonly logger: Logger;
  private readonly follower: ParamsFollower;
  private pending: DecodedParams | undefined;
  /**
   * No published version was put into the model yet: its seeded parameters are not version 0 of
   * the topic when the paramserver started from a file (`--init` publishes that file as version
   * 0), so the first version is applied whatever its number.
   */
  private seeded = true;
  private readonly vocabulary: Vocabulary | undefined;

  private constructor({
    client,
    app,
    modelId,
    model,
    logger,
    onVersion,
    vocabulary,
  }: {
    client: KafkaClient;
    app: string;
    modelId: string | undefined;
    model: ParameterHolder;
    logger: Logger;
    onVersion?: ((decoded: DecodedParams) => void) | undefined;
    vocabulary?: Vocabulary | undefined;
  }) {
    this.model = model;
    this.vocabulary = vocabulary;
    this.logger = logger;
    this.follower = followParams({
      client,
      app,
      ...(modelId === undefined ? {} : { modelId }),
      onVersion: (decoded) => {
        if (decoded.version > this.newestVersion || (this.seeded && !this.pending))
          this.pending = decoded;
        onVersion?.(decoded);
      },
    });
  }

  /**
   * Follows the versions, waiting up to `waitMs` for a first one to start from; without one, the
   * model keeps the seeded initial parameters (version 0, the same the paramserver publishes
   * first unless it was started from a file). `onVersion` sees every version.
   */
  static async follow(options: {
    client: KafkaClient;
    app: string;
    modelId: string | undefined;
    model: ParameterHolder;
    logger: Logger;
    waitMs: number;
    onVersion?: (decoded: DecodedParams) => void;
    /** input.tokenizer "words": the copy each applied version's vocabulary is brought up to. */
    vocabulary?: Vocabulary | undefined;
  }): Promise<PublishedParams> {
    const params = new PublishedParams(options);
    const { waitMs, logger } = options;
    try {
      params.pending = await params.follower.waitForVersion({ minVersion: 0, timeoutMs: waitMs });
      params.applyNewest();
      logger.info({ version: options.model.params.version }, 'using the published parameters');
    } catch (error) {
      logger.warn(
        { err: error, waitMs },
        'no parameter version published yet: starting from the seeded initial parameters (version 0); start `rnnstream paramserver` with the same config',
      );
    }
    return params;
  }

  /** The newest version known: applied, or waiting for the next batch. */
  get newestVersion(): number {
    return this.pending?.version ?? this.model.params.version;
  }

  /** Puts the newest version into the model, if it is newer than the model's (or the first). */
  applyNewest(): void {
    const decoded = this.pending;
    this.pending = undefined;
    if (decoded === undefined) return;
    if (!this.seeded && decoded.version <= this.model.params.version) return;
    applyParams(this.model.params, decoded);
    this.seeded = false;
    // Ids only ever get appended, so a version's words extend the ones applied before.
    if (this.vocabulary !== undefined && decoded.vocabulary !== undefined)
      this.vocabulary.applyWords(decoded.vocabulary);
    this.logger.debug({ version: decoded.version }, 'parameter version applied');
  }

  stop(): Promise<void> {
    return this.follower.stop().catch(() => {});
  }
}
