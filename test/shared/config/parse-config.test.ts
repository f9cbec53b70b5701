import assert from 'node:assert/strict';
import { test } from 'node:test';

import { defaultConfig, parseConfig } from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';

function problemsOf(value: unknown): string[] {
  try {
    parseConfig(value, { source: 'cfg.json' });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    const [header, ...lines] = error.message.split('\n');
    assert.match(header ?? '', /^invalid configuration in cfg\.json \(\d+ problems?\):$/);
    for (const line of lines) assert.ok(line.startsWith('cfg.json: '), line);
    return lines;
  }
  assert.fail('expected parseConfig to throw');
}

test('an empty object gets every default of docs/design.md §7', () => {
  assert.deepEqual(parseConfig({}, { source: 'cfg.json' }), {
    app: 'demo',
    task: { type: 'lm', maxLabels: 64, maxSequenceSteps: 4096, horizon: 1 },
    input: {
      kind: 'tokens',
      tokenizer: 'bytes',
      vocabSize: 256,
      featureSize: 2,
      normalize: true,
      // input.tokenizer "words" (docs/design.md "Words and vocabularies")
      minWordCount: 2,
      lowercase: false,
      wordPattern: "[\\p{L}\\p{N}'’-]+|[^\\s\\p{L}\\p{N}]",
      maxWordBytes: 64,
      maxCandidateWords: 65_536,
    },
    model: {
      cell: 'lstm',
      layers: 1,
      hidden: 128,
      embedding: 64,
      peepholes: false,
      coupledGates: false,
      dropout: 0,
      recurrentDropout: 0,
      bidirectional: false,
      conv: { kernelWidth: 0, channels: 64, dilation: 1, activation: 'tanh', layers: 1 },
    },
    tbptt: { k1: 16, k2: 32, maxKeys: 64, maxWaitMs: 50, chunkSteps: 256 },
    optimizer: {
      type: 'adam',
      learningRate: 0.002,
      momentum: 0.9,
      schedule: { warmupSteps: 0, decay: 'none', decaySteps: 100_000, minLearningRate: 0 },
    },
    clip: { globalNorm: 5 },
    state: { ttlMs: 3_600_000, maxKeys: 100_000 },
    kafka: { ssl: { enabled: false, rejectUnauthorized: true }, sasl: { mechanism: 'none' } },
    paramserver: {
      mode: 'sync',
      staleness: 2,
      roundDeadlineMs: 2_000,
      workerTimeoutMs: 30_000,
      minWorkers: 1,
      lrStalenessScaling: false,
      gradientEncoding: 'float32',
      progressEveryRounds: 100,
    },
    limits: {
      maxEventBytes: 1_048_576,
      maxKeyBytes: 1024,
      maxTokenBytes: 256,
      maxLabelBytes: 1024,
      maxFeatures: 16_384,
      maxLabelValues: 16_384,
      maxPairTokens: 4096,
      maxJsonDepth: 16,
    },
    decoder: {
      maxBatchSize: 32,
      maxWaitMs: 5,
      maxQueuedRequests: 1024,
      requestTimeoutMs: 30_000,
      maxPromptTokens: 4096,
      maxTokens: 4096,
      maxBeamWidth: 16,
      maxSequenceEvents: 4096,
      maxForecastSteps: 1024,
      stateWaitMs: 2_000,
    },
    evaluation: { ngramOrder: 5, ngramMaxContexts: 1_000_000 },
    seq2seq: {
      attention: 'additive',
      attentionSize: 64,
      reverseSource: false,
      maxSourceLength: 64,
      maxTargetLength: 64,
      batchPairs: 16,
      decode: 'beam',
      beamWidth: 4,
      lengthPenalty: 0,
    },
    backend: 'auto',
    seed: 1,
  });
  assert.deepEqual(defaultConfig(), parseConfig({}, { source: 'x' }));
});

test('keys the user sets are kept and the rest of their section is defaulted', () => {
  const config = parseConfig(
    { task: { type: 'classify', labels: ['ham', 'spam', 3] }, model: { cell: 'gru', hidden: 32 } },
    { source: 'cfg.json' },
  );
  assert.deepEqual(config.task, {
    type: 'classify',
    labels: ['ham', 'spam', 3],
    maxLabels: 64,
    maxSequenceSteps: 4096,
    horizon: 1,
  });
  assert.equal(config.model.cell, 'gru');
  assert.equal(config.model.hidden, 32);
  assert.equal(config.model.layers, 1);
  assert.equal(config.tbptt.k2, 32);
});

test('the returned configuration is frozen so no module can change it for the others', () => {
  const config = defaultConfig();
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.model));
  assert.throws(() => {
    (config.model as { hidden: number }).hidden = 3;
  }, TypeError);
});

test('an unknown key is reported with its full path, its value and the closest known key', () => {
  const [line, ...rest] = problemsOf({ model: { hiden: 256 } });
  assert.equal(rest.length, 0);
  assert.match(line ?? '', /model\.hiden = 256: unknown key/);
  assert.match(line ?? '', /did you mean model\.hidden\?/);
});

test('an unknown key with no close match lists the known keys of its section', () => {
  const [line] = problemsOf({ tbptt: { window: 3 } });
  assert.match(
    line ?? '',
    /tbptt\.window = 3: unknown key \(fix: remove it; known keys of tbptt: k1, k2, maxKeys, maxWaitMs, chunkSteps\)/,
  );
});

test('a key put in the wrong section is pointed to the section it belongs in', () => {
  const [line] = problemsOf({ k1: 8 });
  assert.match(line ?? '', /k1 = 8: unknown key/);
  assert.match(line ?? '', /belongs in tbptt\.k1/);
});

test('a value of the wrong type names the path, the received value, the expected type and the default', () => {
  const [line] = problemsOf({ model: { hidden: '128' } });
  assert.equal(
    line,
    'cfg.json: model.hidden = "128": expected a positive integer (fix: set model.hidden to a positive integer, or remove it to use the default 128)',
  );
});

test('out-of-range numbers are rejected with the allowed range', () => {
  const lines = problemsOf({
    model: { dropout: 1, layers: 0 },
    optimizer: { learningRate: 0 },
    clip: { globalNorm: -1 },
  });
  assert.equal(lines.length, 4);
  assert.ok(
    lines.some((l) => /model\.dropout = 1: expected a number with 0 <= dropout < 1/.test(l)),
  );
  assert.ok(lines.some((l) => /model\.layers = 0: expected a positive integer/.test(l)));
  assert.ok(lines.some((l) => /optimizer\.learningRate = 0: expected a number > 0/.test(l)));
  assert.ok(
    lines.some((l) =>
      /clip\.globalNorm = -1: expected a number >= 0 \(0 disables clipping\)/.test(l),
    ),
  );
});

test('clip.globalNorm 0 is accepted and means no clipping', () => {
  assert.equal(parseConfig({ clip: { globalNorm: 0 } }, { source: 'cfg.json' }).clip.globalNorm, 0);
});

test('a misspelt enum value suggests the closest allowed value', () => {
  const [line] = problemsOf({ model: { cell: 'lstn' } });
  assert.match(
    line ?? '',
    /model\.cell = "lstn": expected one of "lstm", "gru", "rnn" \(fix: did you mean "lstm"\?\)/,
  );
});

test('k2 smaller than k1 is rejected with the reason and marks the defaulted k2', () => {
  const [line, ...rest] = problemsOf({ tbptt: { k1: 64 } });
  assert.equal(rest.length, 0);
  assert.match(line ?? '', /tbptt\.k2 = 32 \(default\) is smaller than tbptt\.k1 = 64/);
  assert.match(line ?? '', /back-propagated through a window of k2 >= k1 steps/);
  assert.match(line ?? '', /set tbptt\.k2 to at least 64/);
});

test('task.horizon is for forecasts only, and a forecast window must reach back to the step of its furthest target', () => {
  const [notForecast] = problemsOf({ task: { type: 'lm', horizon: 3 } });
  assert.match(notForecast ?? '', /task\.horizon = 3 but task\.type = "lm": only a forecast/);
  assert.match(notForecast ?? '', /remove task\.horizon, or set task\.type to "forecast"/);
  const forecast = { task: { type: 'forecast' }, input: { kind: 'features' } };
  const [short, ...rest] = problemsOf({
    ...forecast,
    task: { type: 'forecast', horizon: 4 },
    tbptt: { k1: 8, k2: 10 },
  });
  assert.equal(rest.length, 0);
  assert.match(short ?? '', /tbptt\.k2 = 10 is below tbptt\.k1 = 8 \+ task\.horizon = 4 - 1/);
  assert.match(short ?? '', /set tbptt\.k2 to at least 11/);
  const config = parseConfig(
    { ...forecast, task: { type: 'forecast', horizon: 4 }, tbptt: { k1: 8, k2: 11 } },
    { source: 'cfg.json' },
  );
  assert.equal(config.task.horizon, 4);
  assert.deepEqual(
    problemsOf({ task: { type: 'forecast', horizon: 0 }, input: { kind: 'features' } }).length,
    1,
  );
});

test('k1 = k2 is accepted (classic non-overlapping truncation)', () => {
  const config = parseConfig({ tbptt: { k1: 8, k2: 8 } }, { source: 'cfg.json' });
  assert.equal(config.tbptt.k1, 8);
  assert.equal(config.tbptt.k2, 8);
});

test('forecast with token input is rejected and told to use features', () => {
  const [line] = problemsOf({ task: { type: 'forecast' } });
  assert.match(line ?? '', /input\.kind = "tokens" \(default\) but task\.type = "forecast"/);
  assert.match(line ?? '', /set input\.kind to "features"/);
  const ok = parseConfig(
    { task: { type: 'forecast' }, input: { kind: 'features', featureSize: 3 } },
    { source: 'x' },
  );
  assert.equal(ok.input.featureSize, 3);
});

test('lm with feature input is rejected', () => {
  const [line] = problemsOf({ input: { kind: 'features' } });
  assert.match(line ?? '', /input\.kind = "features" but task\.type = "lm" \(default\)/);
});

test('the bytes tokenizer with a vocabulary other than 256 is rejected', () => {
  const [line] = problemsOf({ input: { vocabSize: 1000 } });
  assert.match(
    line ?? '',
    /input\.vocabSize = 1000 but input\.tokenizer = "bytes" \(default\) has exactly 256 tokens/,
  );
  assert.equal(
    parseConfig({ input: { tokenizer: 'ids', vocabSize: 1000 } }, { source: 'x' }).input.vocabSize,
    1000,
  );
});

test('declared labels must be unique, with 3 and "3" counting as different labels', () => {
  const [line, ...rest] = problemsOf({ task: { type: 'tag', labels: ['a', 3, '3', 'a'] } });
  assert.equal(rest.length, 0);
  assert.match(line ?? '', /task\.labels\[3\] = "a": the label is declared twice/);
});

test('declared labels must fit maxLabels', () => {
  const [line] = problemsOf({ task: { type: 'classify', labels: ['a', 'b', 'c'], maxLabels: 2 } });
  assert.match(line ?? '', /task\.labels declares 3 labels, more than task\.maxLabels = 2/);
});

test('all problems of a file are reported together, cross-field ones included', () => {
  const lines = problemsOf({ model: { hiden: 3 }, task: { type: 'forecast' }, seed: 1.5 });
  assert.equal(lines.length, 3);
  assert.ok(lines.some((l) => l.includes('model.hiden')));
  assert.ok(lines.some((l) => l.includes('seed = 1.5: expected an integer')));
  assert.ok(lines.some((l) => l.includes('task.type = "forecast"')));
});

test('a cross-field rule is not reported again when one of its keys is already invalid', () => {
  const lines = problemsOf({ tbptt: { k1: 'x', k2: 4 } });
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /tbptt\.k1 = "x": expected a positive integer/);
});

test('a configuration that is not an object is rejected with an example', () => {
  const [line] = problemsOf([1, 2]);
  assert.match(line ?? '', /the configuration = \[1,2\]: expected a JSON object/);
  const [section] = problemsOf({ model: null });
  assert.match(
    section ?? '',
    /model = null: expected an object \(fix: make model an object with keys among cell, layers/,
  );
});

test('an app id that cannot prefix a topic name is rejected', () => {
  const [line] = problemsOf({ app: 'my app' });
  assert.match(line ?? '', /app = "my app": expected a non-empty string of letters, digits/);
});

test('paramserver and optimizer.schedule keys are checked like every other section', () => {
  const lines = problemsOf({
    paramserver: { mode: 'synch', stalness: 3, roundDeadlineMs: 0 },
    optimizer: { schedule: { decay: 'cosin', warmupStep: 10 } },
  });
  assert.equal(lines.length, 5, lines.join('\n'));
  assert.ok(lines.some((l) => /paramserver\.mode = "synch": .*did you mean "sync"\?/.test(l)));
  assert.ok(
    lines.some((l) => /paramserver\.stalness = 3: unknown key .*paramserver\.staleness\?/.test(l)),
  );
  assert.ok(
    lines.some((l) => /paramserver\.roundDeadlineMs = 0: expected a positive integer/.test(l)),
  );
  assert.ok(
    lines.some((l) => /optimizer\.schedule\.decay = "cosin": .*did you mean "cosine"\?/.test(l)),
  );
  assert.ok(
    lines.some((l) => /optimizer\.schedule\.warmupStep = 10: unknown key .*warmupSteps\?/.test(l)),
  );
});

test('a decay floor above the learning rate is an error naming both keys', () => {
  const [line, ...rest] = problemsOf({
    optimizer: { learningRate: 0.001, schedule: { decay: 'cosine', minLearningRate: 0.01 } },
  });
  assert.equal(rest.length, 0);
  assert.match(
    line ?? '',
    /optimizer\.schedule\.minLearningRate = 0\.01 is above optimizer\.learningRate = 0\.001.*fix: set optimizer\.schedule\.minLearningRate to at most 0\.001/,
  );
});

test('evaluation keys are checked like every other section, with their ranges', () => {
  const lines = problemsOf({
    evaluation: { ngramOrder: -1, ngramMaxContexts: 20_000_000, ngramOrdr: 3 },
  });
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.ok(
    lines.some((l) =>
      /evaluation\.ngramOrder = -1: expected an integer >= 0 \(0 disables the n-gram baseline\)/.test(
        l,
      ),
    ),
  );
  assert.ok(
    lines.some((l) =>
      /evaluation\.ngramMaxContexts = 20000000: expected an integer number of contexts, 2 <= n <= 16000000/.test(
        l,
      ),
    ),
  );
  assert.ok(lines.some((l) => /evaluation\.ngramOrdr = 3: unknown key .*ngramOrder\?/.test(l)));
  assert.equal(
    parseConfig({ evaluation: { ngramOrder: 0 } }, { source: 'x' }).evaluation.ngramOrder,
    0,
  );
});

test('input.tokenizer "words": its keys are checked against each other', () => {
  assert.throws(
    () => parseConfig({ input: { kind: 'features', tokenizer: 'words' } }, { source: 'c' }),
    /input.tokenizer = "words" but input.kind = "features"/,
  );
  assert.throws(
    () =>
      parseConfig(
        { input: { tokenizer: 'ids', pretrained: { path: 'v.bin', format: 'word2vec-binary' } } },
        { source: 'c' },
      ),
    /pretrained vectors belong to words/,
  );
  assert.throws(
    () =>
      parseConfig(
        {
          input: {
            tokenizer: 'words',
            vocabSize: 10,
            pretrained: { path: 'v.bin', format: 'glove', seedWords: 10 },
          },
        },
        { source: 'c' },
      ),
    /seedWords = 10 leaves no room/,
  );
  assert.throws(
    () => parseConfig({ input: { tokenizer: 'words', wordPattern: '[a-' } }, { source: 'c' }),
    /input.wordPattern = "\[a-" is not a regular expression/,
  );
  const config = parseConfig(
    {
      input: {
        tokenizer: 'words',
        vocabSize: 1000,
        pretrained: { path: 'v.txt', format: 'glove' },
      },
    },
    { source: 'c' },
  );
  assert.deepEqual(config.input.pretrained, {
    path: 'v.txt',
    format: 'glove',
    freeze: true,
    seedWords: 0,
    maxWords: 100_000,
  });
});

test('a seq2seq model refuses the words tokenizer, whose online vocabulary covers one embedding table', () => {
  assert.throws(
    () =>
      parseConfig(
        { task: { type: 'seq2seq' }, input: { tokenizer: 'words', vocabSize: 100 } },
        { source: 'c' },
      ),
    /input.tokenizer = "words" but task.type = "seq2seq" has a source and a target vocabulary.*fix: /s,
  );
});
