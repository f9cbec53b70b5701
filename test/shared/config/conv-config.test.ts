/**
 * model.conv: absent or kernelWidth 0 builds no convolution (today's models unchanged); bad
 * values and inconsistent combinations are refused with the value, the reason and the fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseConfig } from '../../../shared/config/index.js';
import { modelSpecFromConfig } from '../../../shared/config/model-spec-from-config.js';
import { ConfigError } from '../../../shared/errors/index.js';

function problemsOf(value: unknown): string[] {
  try {
    parseConfig(value, { source: 'cfg.json' });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message.split('\n').slice(1);
  }
  assert.fail('expected parseConfig to throw');
}

test('without model.conv, or with kernelWidth 0, the model spec has no convolution', () => {
  for (const model of [{}, { conv: {} }, { conv: { kernelWidth: 0 } }]) {
    const spec = modelSpecFromConfig(parseConfig({ model }, { source: 'cfg.json' }));
    assert.equal('conv' in spec, false, JSON.stringify(model));
  }
});

test('model.conv with a kernel width becomes the spec conv, with its defaults', () => {
  const spec = modelSpecFromConfig(
    parseConfig({ model: { conv: { kernelWidth: 4, dilation: 2 } } }, { source: 'cfg.json' }),
  );
  assert.deepEqual(spec.conv, {
    kernelWidth: 4,
    channels: 64,
    dilation: 2,
    activation: 'tanh',
    layers: 1,
  });
});

for (const [conv, pattern] of [
  [
    { kernelWidth: -1 },
    /^cfg\.json: model\.conv\.kernelWidth = -1: expected an integer >= 0 \(0: no convolution\) \(fix: set model\.conv\.kernelWidth to .*remove it to use the default 0\)$/,
  ],
  [{ kernelWidth: 2.5 }, /^cfg\.json: model\.conv\.kernelWidth = 2\.5: expected an integer >= 0/],
  [
    { kernelWidth: 3, dilation: 0 },
    /^cfg\.json: model\.conv\.dilation = 0: expected a positive integer \(fix: .*default 1\)$/,
  ],
  [
    { kernelWidth: 3, channels: 0 },
    /^cfg\.json: model\.conv\.channels = 0: expected a positive integer/,
  ],
  [
    { kernelWidth: 3, layers: 0 },
    /^cfg\.json: model\.conv\.layers = 0: expected a positive integer/,
  ],
  [
    { kernelWidth: 3, activation: 'rel' },
    /^cfg\.json: model\.conv\.activation = "rel": expected one of "linear", "tanh", "relu" \(fix: did you mean "relu"\?\)$/,
  ],
  [
    { kernelWidth: 3, dilaton: 2 },
    /^cfg\.json: model\.conv\.dilaton = 2: unknown key \(fix: did you mean model\.conv\.dilation\? rename it/,
  ],
  [
    { channels: 32 },
    /^cfg\.json: model\.conv\.channels = 32 is set but model\.conv\.kernelWidth = 0 \(default\) means no convolution, so it would be ignored \(fix: set model\.conv\.kernelWidth to the taps you want, e\.g\. 3, or remove model\.conv\)$/,
  ],
] as const) {
  test(`model.conv ${JSON.stringify(conv)} is refused with the value, the reason and the fix`, () => {
    const problems = problemsOf({ model: { conv } });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, pattern);
  });
}

test('a receptive field above 4096 steps is refused, naming the keys that make it and the bound', () => {
  // 2 · (33 − 1) · 64 = 4096 steps: the bound itself is accepted.
  parseConfig({ model: { conv: { kernelWidth: 33, dilation: 64, layers: 2 } } }, { source: 'c' });
  const problems = problemsOf({ model: { conv: { kernelWidth: 33, dilation: 65, layers: 2 } } });
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(
    problems[0]!,
    /^cfg\.json: model\.conv\.layers = 2 × \(model\.conv\.kernelWidth = 33 − 1\) × model\.conv\.dilation = 65 = 4160 steps of receptive field, more than 4096: .* \(fix: lower model\.conv\.kernelWidth, dilation or layers so that layers · \(kernelWidth − 1\) · dilation ≤ 4096\)$/,
  );
});

test('a token vocabulary whose ids a float32 context cannot hold exactly is refused with a conv', () => {
  const problems = problemsOf({
    input: { tokenizer: 'ids', vocabSize: 2 ** 24 },
    model: { conv: { kernelWidth: 2 } },
  });
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(
    problems[0]!,
    /input\.vocabSize = 16777216 with model\.conv\.kernelWidth = 2: .*exact only below 2\^24 \(fix: use at most 16777215 tokens/,
  );
});

test('a complete config written back (as a parameter file stores it) parses again without a conv', () => {
  const written = JSON.parse(JSON.stringify(parseConfig({}, { source: 'cfg.json' }))) as unknown;
  assert.equal(parseConfig(written, { source: 'cfg.json' }).model.conv.kernelWidth, 0);
});
