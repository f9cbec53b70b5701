import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { loadConfigFile } from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a valid file is parsed and defaulted', async () => {
  const path = join(dir, 'ok.json');
  await writeFile(path, '\uFEFF{"model": {"cell": "gru"}}');
  const config = await loadConfigFile(path);
  assert.equal(config.model.cell, 'gru');
  assert.equal(config.tbptt.k1, 16);
});

test('a missing file is a ConfigError with the path and the fix', async () => {
  const path = join(dir, 'nope.json');
  await assert.rejects(loadConfigFile(path), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(error.message.includes(`config file ${path}: file not found`));
    assert.match(error.message, /fix: pass --config/);
    return true;
  });
});

test('invalid JSON is a ConfigError with the path, the parser message and the fix', async () => {
  const path = join(dir, 'bad.json');
  await writeFile(path, '{"model": {"cell": "gru",}}');
  await assert.rejects(loadConfigFile(path), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(error.message.includes(`config file ${path}: invalid JSON:`));
    assert.match(error.message, /no trailing commas/);
    return true;
  });
});

test('problems inside the file are prefixed with the file path', async () => {
  const path = join(dir, 'typo.json');
  await writeFile(path, '{"model": {"hiden": 8}}');
  await assert.rejects(loadConfigFile(path), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(
      error.message
        .split('\n')
        .includes(
          `${path}: model.hiden = 8: unknown key (fix: did you mean model.hidden? rename it; known keys of model: cell, layers, hidden, embedding, peepholes, coupledGates, dropout, recurrentDropout, bidirectional, conv)`,
        ),
    );
    return true;
  });
});
