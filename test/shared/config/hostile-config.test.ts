import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import fc from 'fast-check';

import { loadConfigFile, parseConfig } from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { nestedArray } from '../../support/hostile-inputs.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-hostile-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Parses, returning the error; fails the test on anything but a ConfigError or a slow call. */
function parseOrError(value: unknown): unknown {
  const t0 = performance.now();
  try {
    return parseConfig(value, { source: 'test' });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.ok(error.message.length < 20_000, `a ${error.message.length}-character message`);
    return error;
  } finally {
    assert.ok(performance.now() - t0 < 1000);
  }
}

const SECTIONS = ['task', 'input', 'model', 'tbptt', 'optimizer', 'limits', 'state', 'zzz'];

test('any JSON value, in place of the configuration or of any section or key, is a config or a ConfigError', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.jsonValue(),
        fc.dictionary(fc.constantFrom(...SECTIONS), fc.jsonValue({ maxDepth: 4 })),
        fc
          .tuple(fc.constantFrom(...SECTIONS), fc.string({ maxLength: 12 }), fc.jsonValue())
          .map(([section, key, value]) => ({ [section]: { [key]: value } })),
      ),
      (value) => void parseOrError(value),
    ),
    { seed: 20261204, numRuns: 3000 },
  );
});

test('values nested 100000 deep or megabytes long are refused with a short message', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  for (const value of [
    { task: { labels: deep } },
    { nonsense: deep },
    { model: { cell: 'l'.repeat(2_000_000) } },
    { ['k'.repeat(1_000_000)]: 1 },
  ]) {
    const error = parseOrError(value);
    assert.ok(error instanceof ConfigError);
    assert.ok(error.message.length < 2000, error.message.slice(0, 300));
  }
});

test('a config file nested too deep, too large or not UTF-8 JSON is a ConfigError naming the file and the fix', async () => {
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['deep.json', `{"task": {"labels": ${nestedArray(100_000)}}}`, /nested deeper than 32 levels/],
    ['large.json', Buffer.alloc(2_000_000, 0x20), /2000000 bytes, not a configuration/],
    ['binary.json', Buffer.from([0xff, 0xfe, 0x00, 0x7b]), /invalid JSON/],
  ];
  for (const [name, content, reason] of cases) {
    const path = join(dir, name);
    await writeFile(path, content);
    await assert.rejects(
      loadConfigFile(path),
      (error: unknown) =>
        error instanceof ConfigError &&
        reason.test(error.message) &&
        error.message.includes(path) &&
        /\(fix: /.test(error.message),
    );
  }
});

test('the limits section takes positive integers and must leave room for the model', () => {
  assert.equal(
    parseConfig({ limits: { maxKeyBytes: 4096 } }, { source: 'test' }).limits.maxKeyBytes,
    4096,
  );
  assert.throws(
    () => parseConfig({ limits: { maxKeyBytes: 0 } }, { source: 'test' }),
    /limits\.maxKeyBytes = 0/,
  );
  assert.throws(
    () =>
      parseConfig(
        { input: { kind: 'features', featureSize: 100 }, limits: { maxFeatures: 10 } },
        { source: 'test' },
      ),
    /input\.featureSize = 100 is above limits\.maxFeatures = 10/,
  );
});
