import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rnnstream } from '../../../shared/codec/generated/rnnstream.js';

/** The project root (this file runs from dist/test/shared/codec/). */
const root = fileURLToPath(new URL('../../../../', import.meta.url));

test('the committed generated protobuf code is up to date with proto/ (npm run proto:check)', () => {
  const result = spawnSync(process.execPath, ['scripts/generate-proto.mjs', '--check'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /generated code is up to date/);
});

test('the generated ES module loads under Node ESM with every message of docs/design.md §4', () => {
  for (const name of [
    'Event',
    'KeyState',
    'GradientChunk',
    'ParamChunk',
    'TensorSet',
    'Tensor',
    'DecodeRequest',
    'DecodeResult',
    'Prediction',
    'DeadLetter',
  ] as const) {
    assert.equal(typeof rnnstream.v1[name].encode, 'function', name);
    assert.equal(typeof rnnstream.v1[name].decode, 'function', name);
  }
  const request = rnnstream.v1.DecodeRequest.decode(
    rnnstream.v1.DecodeRequest.encode({
      requestId: 'r1',
      key: 'doc',
      promptTokens: [104, 105],
      maxTokens: 20,
      sample: { temperature: 0.8, topK: 40, topP: 0.95, seed: 7 },
    }).finish(),
  );
  assert.equal(request.strategy, 'sample');
  assert.equal(request.sample!.topK, 40);
  assert.equal(request.key, 'doc');
  const tag = rnnstream.v1.DecodeRequest.decode(
    rnnstream.v1.DecodeRequest.encode({
      requestId: 'r2',
      labelEvents: { events: [{ key: 'k', tokenText: 'a' }] },
    }).finish(),
  );
  assert.equal(tag.strategy, 'labelEvents');
  assert.equal(tag.labelEvents!.events![0]!.tokenText, 'a');
});
