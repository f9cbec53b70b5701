import { z } from 'zod';

import { DEFAULT_INPUT_LIMITS } from '../events/input-limits.js';
import { CONV_ACTIVATIONS } from '../model/conv/conv-spec.js';
import { DEFAULT_WORD_PATTERN } from '../vocabulary/word-splitter.js';
import { DEFAULT_CHUNK_STEPS, DEFAULT_MAX_SEQUENCE_STEPS } from '../tbptt/window-schedule.js';

/**
 * The model configuration of docs/design.md §7 (CONTRACT). Every key has a default, every object is
 * strict (an unknown key is an error, not silently ignored: a typo like `hiden` must not fall back
 * to the default without telling anyone). Cross-field rules live in `cross-field-rules.ts`.
 *
 * Each leaf carries its own "expected ..." text as the zod error message, so `format-issues.ts`
 * can say what was expected without knowing zod's wording.
 */

const expecting = (text: string) => ({ error: () => text });

const positiveInt = (text = 'a positive integer') =>
  z.number(expecting(text)).int(expecting(text)).min(1, expecting(text));

const nonNegativeInt = (text = 'an integer >= 0') =>
  z.number(expecting(text)).int(expecting(text)).min(0, expecting(text));

/** 0 <= x < 1, for dropout rates and momentum. */
const unitFraction = (text: string) =>
  z.number(expecting(text)).min(0, expecting(text)).lt(1, expecting(text));

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, expecting(`one of ${values.map((v) => `"${v}"`).join(', ')}`));

const bool = () => z.boolean(expecting('true or false'));

const label = z.union(
  [z.string().min(1), z.number().int()],
  expecting('a non-empty string or an integer'),
);

export const TASK_TYPES = ['lm', 'tag', 'classify', 'forecast', 'seq2seq'] as const;
export const INPUT_KINDS = ['tokens', 'features'] as const;
export const TOKENIZERS = ['bytes', 'ids', 'words'] as const;
export const WORD_VECTOR_FORMATS = ['word2vec-text', 'word2vec-binary', 'glove'] as const;
export const CELLS = ['lstm', 'gru', 'rnn'] as const;
export const OPTIMIZERS = ['adam', 'sgd'] as const;
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export const LR_DECAYS = ['none', 'linear', 'cosine', 'inverse-sqrt'] as const;
export const PARAMSERVER_MODES = ['sync', 'async'] as const;
export const GRADIENT_ENCODINGS = ['float32', 'bfloat16', 'float16'] as const;

export const TaskSchema = z.strictObject(
  {
    type: oneOf(TASK_TYPES).default('lm'),
    // Absent means "discover labels as they appear, up to maxLabels".
    labels: z
      .array(label, expecting('a non-empty array of strings or integers'))
      .min(
        1,
        expecting('a non-empty array of strings or integers (remove the key to discover labels)'),
      )
      .optional(),
    maxLabels: positiveInt().default(64),
    // classify: the class loss at eos back-propagates through up to this many last steps of the
    // sequence, all of which each key stores (shared/tbptt/window-schedule.ts).
    maxSequenceSteps: positiveInt().default(DEFAULT_MAX_SEQUENCE_STEPS),
    // forecast: how many future feature vectors each step predicts (docs/design.md, "Forecasting").
    horizon: positiveInt().default(1),
  },
  expecting('an object'),
);

// input.tokenizer "words" (shared/vocabulary, docs/design.md "Words and vocabularies").
const WordsInputKeys = {
  minWordCount: positiveInt().default(2),
  lowercase: bool().default(false),
  wordPattern: z
    .string(expecting('a regular expression as a string'))
    .min(1, expecting('a non-empty regular expression'))
    .default(DEFAULT_WORD_PATTERN),
  maxWordBytes: positiveInt().default(64),
  maxCandidateWords: z
    .number(expecting('an integer >= 2'))
    .int(expecting('an integer >= 2'))
    .min(2, expecting('an integer >= 2'))
    .default(65_536),
  pretrained: z
    .strictObject(
      {
        path: z.string(expecting('a file path')).min(1, expecting('a file path')),
        format: oneOf(WORD_VECTOR_FORMATS),
        freeze: bool().default(true),
        seedWords: nonNegativeInt().default(0),
        maxWords: positiveInt().default(100_000),
      },
      expecting('an object'),
    )
    .optional(),
};

export const InputSchema = z.strictObject(
  {
    kind: oneOf(INPUT_KINDS).default('tokens'),
    tokenizer: oneOf(TOKENIZERS).default('bytes'),
    vocabSize: positiveInt().default(256),
    featureSize: positiveInt().default(2),
    normalize: bool().default(true),
    ...WordsInputKeys,
  },
  expecting('an object'),
);

// A causal 1D convolution over the inputs before the recurrent layers (shared/model/conv;
// docs/design.md, "Convolutional front end"). kernelWidth 0, the default, means none.
export const ConvSchema = z.strictObject(
  {
    kernelWidth: nonNegativeInt('an integer >= 0 (0: no convolution)').default(0),
    channels: positiveInt().default(64),
    dilation: positiveInt().default(1),
    activation: oneOf(CONV_ACTIVATIONS).default('tanh'),
    layers: positiveInt().default(1),
  },
  expecting('an object'),
);

export const ModelSchema = z.strictObject(
  {
    cell: oneOf(CELLS).default('lstm'),
    layers: positiveInt().default(1),
    hidden: positiveInt().default(128),
    embedding: positiveInt().default(64),
    peepholes: bool().default(false),
    coupledGates: bool().default(false),
    dropout: unitFraction('a number with 0 <= dropout < 1').default(0),
    recurrentDropout: unitFraction('a number with 0 <= recurrentDropout < 1').default(0),
    // tag/classify: forward and backward layers over each segment, predicted when its eos arrives
    // (docs/design.md, "Bidirectional encoders on segments").
    bidirectional: bool().default(false),
    conv: ConvSchema.prefault({}),
  },
  expecting('an object'),
);

export const TbpttSchema = z.strictObject(
  {
    k1: positiveInt().default(16),
    k2: positiveInt().default(32),
    maxKeys: positiveInt().default(64),
    maxWaitMs: nonNegativeInt('an integer number of milliseconds >= 0').default(50),
    // Windows longer than this (whole classify sequences) are back-propagated this many steps at
    // a time, recomputing each chunk (shared/model/recurrent-model.ts): bounds tensor memory.
    chunkSteps: positiveInt().default(DEFAULT_CHUNK_STEPS),
  },
  expecting('an object'),
);

// Learning rate over the number of applied updates (shared/optim/learning-rate-schedule.ts). The
// defaults (no warm-up, no decay) keep the constant optimizer.learningRate.
export const ScheduleSchema = z.strictObject(
  {
    warmupSteps: nonNegativeInt('an integer number of updates >= 0').default(0),
    decay: oneOf(LR_DECAYS).default('none'),
    decaySteps: positiveInt('a positive integer number of updates').default(100_000),
    minLearningRate: z
      .number(expecting('a number >= 0'))
      .min(0, expecting('a number >= 0'))
      .default(0),
  },
  expecting('an object'),
);

export const OptimizerSchema = z.strictObject(
  {
    type: oneOf(OPTIMIZERS).default('adam'),
    learningRate: z
      .number(expecting('a number > 0'))
      .gt(0, expecting('a number > 0'))
      .default(0.002),
    // Used by sgd only (adam has its own moment decay rates).
    momentum: unitFraction('a number with 0 <= momentum < 1').default(0.9),
    schedule: ScheduleSchema.prefault({}),
  },
  expecting('an object'),
);

export const ClipSchema = z.strictObject(
  {
    // 0 disables clipping (a number keeps the key's type simple; null is not accepted).
    globalNorm: z
      .number(expecting('a number >= 0 (0 disables clipping)'))
      .min(0, expecting('a number >= 0 (0 disables clipping)'))
      .default(5),
  },
  expecting('an object'),
);

export const StateSchema = z.strictObject(
  {
    ttlMs: positiveInt('a positive integer number of milliseconds').default(3_600_000),
    maxKeys: positiveInt().default(100_000),
  },
  expecting('an object'),
);

// The parameter service (services/paramserver; docs/design.md §6). gradientEncoding is read by the
// workers (the wire dtype of the gradients they send); the paramserver decodes any of them.
export const ParamserverSchema = z.strictObject(
  {
    mode: oneOf(PARAMSERVER_MODES).default('sync'),
    // Gradients computed more than this many versions ago are dropped (and counted).
    staleness: nonNegativeInt('an integer number of versions >= 0').default(2),
    // sync: a round closes this long after its first gradient even if live workers are missing.
    roundDeadlineMs: positiveInt('a positive integer number of milliseconds').default(2_000),
    // A worker is live (a sync round waits for it) if it sent a gradient within this time.
    workerTimeoutMs: positiveInt('a positive integer number of milliseconds').default(30_000),
    // sync: a round closes before its deadline only once at least this many workers reported
    // (the server learns who is live from their gradients, so alone it cannot know at start-up).
    minWorkers: positiveInt().default(1),
    // Scale the learning rate by 1 / (1 + staleness) (token-weighted mean over the round).
    lrStalenessScaling: bool().default(false),
    gradientEncoding: oneOf(GRADIENT_ENCODINGS).default('float32'),
    // One progress log line every this many applied rounds.
    progressEveryRounds: positiveInt().default(100),
  },
  expecting('an object'),
);

// Bounds on one input record (shared/events/input-limits.ts): a record over one is skipped
// (files) or dead-lettered (Kafka) with the limit's name, never processed.
const limit = (unit: string) => positiveInt(`a positive integer number of ${unit}`);
export const LimitsSchema = z.strictObject(
  {
    maxEventBytes: limit('bytes').default(DEFAULT_INPUT_LIMITS.maxEventBytes),
    // At most 4096: beyond 16,383 characters V8 hashes a string by its length alone, so keys that
    // long would turn every per-key map lookup into a scan.
    maxKeyBytes: limit('bytes')
      .max(4096, expecting('a positive integer number of bytes, at most 4096'))
      .default(DEFAULT_INPUT_LIMITS.maxKeyBytes),
    maxTokenBytes: limit('bytes').default(DEFAULT_INPUT_LIMITS.maxTokenBytes),
    maxLabelBytes: limit('bytes').default(DEFAULT_INPUT_LIMITS.maxLabelBytes),
    maxFeatures: limit('numbers').default(DEFAULT_INPUT_LIMITS.maxFeatures),
    maxLabelValues: limit('numbers').default(DEFAULT_INPUT_LIMITS.maxLabelValues),
    maxPairTokens: limit('tokens').default(DEFAULT_INPUT_LIMITS.maxPairTokens),
    maxJsonDepth: limit('levels').default(DEFAULT_INPUT_LIMITS.maxJsonDepth),
  },
  expecting('an object'),
);

// The decoder service (services/decoder; docs/design.md "Decoder"): dynamic batching, the bounded
// queue and what one request may ask.
const ms = (text = 'a positive integer number of milliseconds') => positiveInt(text);
export const DecoderSchema = z.strictObject(
  {
    // Dynamic batching: a batch is computed once it holds maxBatchSize requests, or once its
    // oldest request has waited maxWaitMs (0: compute whatever is queued at once).
    maxBatchSize: positiveInt().default(32),
    maxWaitMs: nonNegativeInt('an integer number of milliseconds >= 0').default(5),
    // Requests read from Kafka but not answered yet; the decoder stops reading at this many.
    maxQueuedRequests: positiveInt().default(1_024),
    // A request without its own deadline expires this long after it was sent.
    requestTimeoutMs: ms().default(30_000),
    // Bounds of one request: prompt tokens, tokens to generate, beam width, sequence events,
    // forecast steps.
    maxPromptTokens: positiveInt().default(4_096),
    maxTokens: positiveInt().default(4_096),
    maxBeamWidth: positiveInt().default(16),
    maxSequenceEvents: positiveInt().default(4_096),
    maxForecastSteps: positiveInt().default(1_024),
    // Key-addressed requests wait up to this long for the state view to reach the changelog's end.
    stateWaitMs: nonNegativeInt('an integer number of milliseconds >= 0').default(2_000),
  },
  expecting('an object'),
);

// What `run --embedded` scores beside the model (services/embedded/prequential-summary.ts).
// ngramMaxContexts is at most 16,000,000: the n-gram's trie is a JavaScript Map, which holds at
// most 2^24 entries.
const ngramContexts = 'an integer number of contexts, 2 <= n <= 16000000';
export const EvaluationSchema = z.strictObject(
  {
    // lm: order of the online n-gram baseline (contexts of up to order - 1 tokens); 0 disables it.
    // At most 16: it costs a lookup per order and event, and longer contexts hardly ever recur.
    ngramOrder: nonNegativeInt('an integer >= 0 (0 disables the n-gram baseline)')
      .max(16, expecting('an integer from 0 to 16 (0 disables the n-gram baseline)'))
      .default(5),
    ngramMaxContexts: z
      .number(expecting(ngramContexts))
      .int(expecting(ngramContexts))
      .min(2, expecting(ngramContexts))
      .max(16_000_000, expecting(ngramContexts))
      .default(1_000_000),
  },
  expecting('an object'),
);

// task.type "seq2seq": the encoder-decoder of shared/model/seq2seq (docs/design.md, "Sequence to
// sequence"). Sources and targets are tokens of input.tokenizer; targets have their own vocabulary.
export const ATTENTION_KINDS = ['none', 'additive'] as const;
export const TRANSDUCTION_DECODES = ['greedy', 'beam'] as const;
export const Seq2seqSchema = z.strictObject(
  {
    attention: oneOf(ATTENTION_KINDS).default('additive'),
    attentionSize: positiveInt().default(64),
    // The encoder reads each source last token first (Sutskever et al. 2014).
    reverseSource: bool().default(false),
    // Absent: model.hidden (then the decoder starts from the encoder's final state as it is).
    encoderHidden: positiveInt().optional(),
    // Absent: input.vocabSize. Target ids are in [0, targetVocabSize).
    targetVocabSize: positiveInt().optional(),
    // A pair with a longer source or target is refused (skipped / dead-lettered), not cut.
    maxSourceLength: positiveInt().default(64),
    maxTargetLength: positiveInt().default(64),
    // Pairs per training step (each predicted before the step learns from it).
    batchPairs: positiveInt().default(16),
    // How the prequential hypothesis of each pair is decoded.
    decode: oneOf(TRANSDUCTION_DECODES).default('beam'),
    beamWidth: positiveInt().default(4),
    lengthPenalty: z
      .number(expecting('a number >= 0'))
      .min(0, expecting('a number >= 0'))
      .default(0),
  },
  expecting('an object'),
);

// How every Kafka connection of the process is secured (shared/transport/kafka/
// connection-security.ts). Only file paths and switches: a secret is never written into the JSON
// file, it is read from the file named here or from the environment (shared/config/kafka-env.ts,
// whose variables override these keys).
export const SASL_MECHANISMS = ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const;
const filePath = () => {
  const text = 'the path of a file (a non-empty string)';
  return z.string(expecting(text)).min(1, expecting(text));
};
export const KafkaSslSchema = z.strictObject(
  {
    enabled: bool().default(false),
    // PEM. Without caFile the system's trusted CAs verify the brokers.
    caFile: filePath().optional(),
    // Client certificate and its private key (mutual TLS), PEM; the key may be encrypted.
    certFile: filePath().optional(),
    keyFile: filePath().optional(),
    keyPasswordFile: filePath().optional(),
    // false accepts any broker certificate: for a first test only, it defeats TLS.
    rejectUnauthorized: bool().default(true),
    // The name every broker certificate must carry (and SNI), when brokers are reached by an
    // address their certificates do not name; default: the broker's host name.
    serverName: z
      .string(expecting('a host name (a non-empty string)'))
      .min(1, expecting('a host name (a non-empty string)'))
      .optional(),
  },
  expecting('an object'),
);
export const KafkaSaslSchema = z.strictObject(
  {
    mechanism: oneOf(SASL_MECHANISMS).default('none'),
    username: z
      .string(expecting('a user name (a non-empty string)'))
      .min(1, expecting('a user name (a non-empty string)'))
      .optional(),
    passwordFile: filePath().optional(),
  },
  expecting('an object'),
);
export const KafkaSchema = z.strictObject(
  {
    ssl: KafkaSslSchema.prefault({}),
    sasl: KafkaSaslSchema.prefault({}),
  },
  expecting('an object'),
);

// Topic names are `<app>.<name>`, so the app id must be a legal Kafka topic fragment.
const APP_ID = /^[A-Za-z0-9._-]{1,200}$/;
const appText = 'a non-empty string of letters, digits, ".", "_" or "-" (it prefixes topic names)';

export const ConfigSchema = z.strictObject(
  {
    app: z.string(expecting(appText)).regex(APP_ID, expecting(appText)).default('demo'),
    // prefault: an absent section is parsed as {} so that its own keys get their defaults.
    task: TaskSchema.prefault({}),
    input: InputSchema.prefault({}),
    model: ModelSchema.prefault({}),
    tbptt: TbpttSchema.prefault({}),
    optimizer: OptimizerSchema.prefault({}),
    clip: ClipSchema.prefault({}),
    state: StateSchema.prefault({}),
    paramserver: ParamserverSchema.prefault({}),
    limits: LimitsSchema.prefault({}),
    decoder: DecoderSchema.prefault({}),
    evaluation: EvaluationSchema.prefault({}),
    seq2seq: Seq2seqSchema.prefault({}),
    kafka: KafkaSchema.prefault({}),
    backend: oneOf(BACKENDS).default('auto'),
    seed: z.number(expecting('an integer')).int(expecting('an integer')).default(1),
  },
  expecting('a JSON object'),
);

/** Known keys of each object, by dotted path ('' is the root); used for "did you mean" hints. */
export const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(ConfigSchema.shape),
  task: Object.keys(TaskSchema.shape),
  input: Object.keys(InputSchema.shape),
  model: Object.keys(ModelSchema.shape),
  'model.conv': Object.keys(ConvSchema.shape),
  tbptt: Object.keys(TbpttSchema.shape),
  optimizer: Object.keys(OptimizerSchema.shape),
  'optimizer.schedule': Object.keys(ScheduleSchema.shape),
  clip: Object.keys(ClipSchema.shape),
  state: Object.keys(StateSchema.shape),
  paramserver: Object.keys(ParamserverSchema.shape),
  limits: Object.keys(LimitsSchema.shape),
  decoder: Object.keys(DecoderSchema.shape),
  evaluation: Object.keys(EvaluationSchema.shape),
  seq2seq: Object.keys(Seq2seqSchema.shape),
  kafka: Object.keys(KafkaSchema.shape),
  'kafka.ssl': Object.keys(KafkaSslSchema.shape),
  'kafka.sasl': Object.keys(KafkaSaslSchema.shape),
};

/**
 * Sections whose unknown keys are likely secrets written inline (`kafka.sasl.password`,
 * `kafka.ssl.key`): an error about such a key must not repeat its value.
 */
export const SECRET_SECTIONS: readonly string[] = ['kafka', 'kafka.ssl', 'kafka.sasl'];

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The fully defaulted, validated and frozen configuration. */
export type Config = DeepReadonly<z.output<typeof ConfigSchema>>;
export type TaskConfig = Config['task'];
export type InputConfig = Config['input'];
export type ModelConfig = Config['model'];
export type TbpttConfig = Config['tbptt'];
export type OptimizerConfig = Config['optimizer'];
export type ParamserverConfig = Config['paramserver'];
export type LimitsConfig = Config['limits'];
export type DecoderConfig = Config['decoder'];
export type EvaluationConfig = Config['evaluation'];
export type Seq2seqConfig = Config['seq2seq'];
export type KafkaConfig = Config['kafka'];
export type Label = string | number;
