import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import type { DecodedParams } from '../../../shared/codec/param-codec.js';
import { tf } from '../../../shared/engine/tf.js';
import {
  paramsSpecFromConfig,
  parseConfig,
  seq2seqSpecFromConfig,
} from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/logging/index.js';
import { saveParameterFile } from '../../../shared/model/parameter-file.js';
import { initialParameters, RecurrentModel } from '../../../shared/model/recurrent-model.js';
import { Seq2seqModel } from '../../../shared/model/seq2seq/seq2seq-model.js';
import { seq2seqInitialParameters } from '../../../shared/model/seq2seq/seq2seq-spec.js';
import type { ParamserverCheckpoint } from '../../../shared/paramserver/index.js';
import { resolveStartState } from '../../../services/paramserver/start-state.js';
import { tempDir } from '../../support/run-helpers.js';
import { tinyLmSpec } from '../../support/tiny-learner.js';

await tf.setBackend('cpu');
const spec = tinyLmSpec();
const logger = createLogger({ name: 'test', level: 'silent' });
const gradientEnds = [
  { partition: 0, low: 0, high: 40 },
  { partition: 1, low: 5, high: 9 },
];
const checkpointAt = (version: number): ParamserverCheckpoint => ({
  modelId: 'm',
  spec,
  version,
  scheduleStep: version,
  params: initialParameters(spec, 3),
  optimizer: { type: 'adam', step: version, slots: new Map() },
  progress: {},
  lastSeenMs: {},
  gradientOffsets: [{ partition: 0, offset: 33 }],
  writtenAtMs: 0,
});
const resolve = (overrides: Partial<Parameters<typeof resolveStartState>[0]>) =>
  resolveStartState({
    spec,
    seed: 1,
    modelId: 'm',
    checkpoint: undefined,
    published: undefined,
    gradientEnds,
    initPath: undefined,
    logger,
    readPublishedParams: () => Promise.reject(new Error('not expected')),
    ...overrides,
  });

test('first start: seeded parameters at version 0, published, reading gradients from the end', async () => {
  const start = await resolve({});
  assert.equal(start.origin, 'fresh');
  assert.equal(start.publish, true);
  assert.equal(start.state.version, 0);
  assert.deepEqual(
    start.gradientOffsets,
    [
      { partition: 0, offset: 40 },
      { partition: 1, offset: 9 },
    ],
    'gradients already there belong to other parameters',
  );
  const seeded = initialParameters(spec, 1);
  assert.deepEqual(
    start.state.params.map((p) => p.values),
    seeded.map((p) => p.values),
  );
});

test('first start with --init takes the parameter file, and refuses one of another model', async () => {
  const model = RecurrentModel.create({ spec, seed: 42 });
  const path = join(await tempDir('ps-init'), 'init.params');
  await saveParameterFile(path, { spec, params: model.params });
  const start = await resolve({ initPath: path });
  assert.deepEqual(
    start.state.params.map((p) => p.values),
    [...model.params.toArrays().values()],
  );
  await assert.rejects(
    resolve({ initPath: path, spec: tinyLmSpec({ hidden: 7 }) }),
    (e) => e instanceof ConfigError && /--init .*another model configuration.*fix:/.test(e.message),
  );
  model.dispose();
});

test('a checkpoint at the published version continues without publishing; one ahead by one publishes it', async () => {
  const same = await resolve({
    checkpoint: checkpointAt(7),
    published: { version: 7, gradientOffsets: [{ partition: 0, offset: 33 }] },
  });
  assert.equal(same.origin, 'checkpoint');
  assert.equal(same.publish, false);
  assert.deepEqual(same.gradientOffsets, [
    { partition: 0, offset: 33 },
    { partition: 1, offset: 5 }, // not in the checkpoint: from the partition's start
  ]);
  const ahead = await resolve({
    checkpoint: checkpointAt(7),
    published: { version: 6, gradientOffsets: [{ partition: 0, offset: 20 }] },
  });
  assert.equal(ahead.publish, true);
  assert.equal(ahead.state.version, 7);
  assert.equal(
    ahead.gradientOffsets[0]!.offset,
    33,
    "the checkpoint's offsets go with its version",
  );
});

test('a checkpoint behind the published version, or another model, is refused with the fix', async () => {
  await assert.rejects(
    resolve({
      checkpoint: checkpointAt(3),
      published: { version: 9, gradientOffsets: [] },
    }),
    (e) =>
      e instanceof ConfigError &&
      /at version 3 but version 9 was published last; the checkpoint is stale.*fix: point --checkpoint-dir/.test(
        e.message,
      ),
  );
  await assert.rejects(
    resolve({ checkpoint: checkpointAt(3), spec: tinyLmSpec({ cell: 'gru' }) }),
    (e) => e instanceof ConfigError && /another model configuration/.test(e.message),
  );
});

test('without a checkpoint but with published versions, the latest published parameters are the start', async () => {
  const published = initialParameters(spec, 5);
  const start = await resolve({
    published: { version: 12, gradientOffsets: [{ partition: 1, offset: 8 }] },
    readPublishedParams: async (version): Promise<DecodedParams> => ({
      modelId: 'm',
      version,
      tensors: new Map(published.map((p) => [p.name, { shape: p.shape, data: p.values }])),
    }),
  });
  assert.equal(start.origin, 'published');
  assert.equal(start.publish, false);
  assert.equal(start.state.version, 12);
  assert.equal(start.state.optimizer, undefined, 'fresh optimizer');
  assert.deepEqual(start.gradientOffsets, [
    { partition: 0, offset: 0 },
    { partition: 1, offset: 8 },
  ]);
});

test('a seq2seq model starts from its seeded encoder–decoder parameters or its saved file, and a stream model’s file is refused for it', async () => {
  const config = parseConfig(
    {
      task: { type: 'seq2seq' },
      input: { tokenizer: 'ids', vocabSize: 6 },
      model: { cell: 'gru', hidden: 8, embedding: 4 },
      seq2seq: { attentionSize: 5 },
    },
    { source: 'test' },
  );
  const pairSpec = paramsSpecFromConfig(config);
  const fresh = await resolve({ spec: pairSpec, seed: 9 });
  // Independent of the dispatch under test: the encoder–decoder's own initialiser.
  const seeded = seq2seqInitialParameters(seq2seqSpecFromConfig(config), 9);
  assert.deepEqual(
    fresh.state.params.map((p) => [p.name, p.values]),
    seeded.map((p) => [p.name, p.values]),
  );
  assert.ok(fresh.state.params.some((p) => p.name.startsWith('decoder/')));

  const model = Seq2seqModel.create({ spec: seq2seqSpecFromConfig(config), seed: 4 });
  const path = join(await tempDir('ps-init-seq2seq'), 'init.params');
  await saveParameterFile(path, { spec: model.spec, params: model.params });
  const fromFile = await resolve({ spec: pairSpec, initPath: path });
  assert.deepEqual(
    fromFile.state.params.map((p) => p.values),
    [...model.params.toArrays().values()],
  );
  await assert.rejects(
    resolve({ initPath: path }),
    (e) => e instanceof ConfigError && /another model configuration/.test(e.message),
  );
  model.dispose();
});
