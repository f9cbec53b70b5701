import type { TensorValue } from '../codec/tensor-codec.js';
import type { ParameterSet } from '../model/parameter-set.js';
import { ParameterServer, type ParameterServerOptions } from '../paramserver/parameter-server.js';
import type { GradientSink, WorkerGradient } from '../tbptt/gradient-sink.js';
import type { ServerVocabulary } from '../vocabulary/server-vocabulary.js';
import type { Vocabulary } from '../vocabulary/vocabulary.js';

/**
 * The parameter service of an embedded run, in process. Every gradient goes through the
 * paramserver's own core (ParameterServer: the checks, token-weighted average, clip after
 * averaging, host optimizer and learning-rate schedule) as a round of its own, and the new
 * version is written into the model at once. So embedded mode has no update rule of its own: its
 * parameters are bit for bit those of one worker training through `rnnstream paramserver` in
 * lockstep on the same events.
 */
export class InProcessParameterService implements GradientSink {
  private readonly model: { readonly params: ParameterSet };
  private readonly server: ParameterServer;
  private readonly onDrop: (why: string) => void;
  private readonly vocabulary: Vocabulary | undefined;

  constructor({
    model,
    options,
    words,
    onDrop = () => {},
  }: {
    /** Any model: only its parameters are read and written. */
    model: { readonly params: ParameterSet };
    options: ParameterServerOptions;
    /**
     * input.tokenizer "words": the vocabulary the server owns and admits words into, and the
     * learner's copy, brought up to the server's after every round (as a worker's is by the
     * published versions).
     */
    words?: { server: ServerVocabulary; local: Vocabulary } | undefined;
    /** A gradient the server would not apply (one with a NaN, say): the model stays as it was. */
    onDrop?: (why: string) => void;
  }) {
    this.model = model;
    this.onDrop = onDrop;
    this.server = ParameterServer.create({
      options,
      state: {
        version: model.params.version,
        scheduleStep: 0,
        params: [...model.params.toNamedArrays()].map(([name, { shape, data }]) => ({
          name,
          shape,
          values: data,
        })),
      },
      words: words?.server,
    });
    this.vocabulary = words?.local;
    if (words !== undefined) {
      // Seeded words and their pretrained rows.
      this.model.params.assignArrays(this.server.parameterValues());
      words.local.applyWords(this.server.vocabularyWords);
    }
  }

  /** Applies one gradient as one round (version + 1) and disposes its tensors. */
  submit(gradient: WorkerGradient): void {
    // Downloaded exactly as a worker's PendingGradients does, so the server sees the same bits.
    const tensors = new Map<string, TensorValue>();
    for (const [name, tensor] of gradient.gradients) {
      tensors.set(name, { shape: tensor.shape, data: tensor.dataSync() as Float32Array });
      tensor.dispose();
    }
    const { workerId, step, paramVersion, tokens, lossSum, wordCounts } = gradient;
    const receivedAtMs = Date.now();
    const outcome = this.server.offer({
      workerId,
      step,
      paramVersion,
      tokens,
      lossSum,
      tensors,
      receivedAtMs,
      wordCounts,
    });
    if (outcome.kind !== 'accepted') {
      this.onDrop(
        outcome.kind === 'duplicate'
          ? `step ${step} of '${workerId}' was applied already`
          : `${outcome.reason}: ${outcome.detail}`,
      );
      return;
    }
    const report = this.server.applyRound('arrival');
    // Copies: the server updates its arrays in place, and a backend may keep the array it is given.
    this.model.params.assignArrays(this.server.parameterValues());
    this.model.params.version = report.version;
    if (report.admittedWords?.length) this.vocabulary?.applyWords(this.server.vocabularyWords);
  }
}
