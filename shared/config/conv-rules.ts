import { MAX_CONTEXT_TOKEN_ID } from '../model/conv/conv-spec.js';
import { type ConfigPath, isGiven } from './config-path.js';
import { ConvSchema, type Config } from './config-schema.js';

/**
 * Most steps of context a conv front end may need (layers · (kernelWidth − 1) · dilation): every
 * key carries that many raw inputs in its state and in each stored window start.
 */
export const MAX_CONV_CONTEXT_STEPS = 4096;

/**
 * The cross-field rules of `model.conv` (called from cross-field-rules.ts): `show` renders a key
 * and its value, `add` records a problem naming every key involved.
 */
export function checkConvRules(
  config: Pick<Config, 'model' | 'input'>,
  raw: unknown,
  show: (path: ConfigPath, value: unknown) => string,
  add: (involves: ConfigPath[], message: string) => void,
): void {
  const conv = config.model.conv;
  const at = (key: string): ConfigPath => ['model', 'conv', key];
  if (conv.kernelWidth === 0) {
    // Only a value other than the default would be ignored: a complete config written back (the
    // one a parameter file stores) gives every key with its default and is fine.
    const defaults = ConvSchema.parse({});
    const given = (['channels', 'dilation', 'activation', 'layers'] as const).filter(
      (k) => isGiven(raw, at(k)) && conv[k] !== defaults[k],
    );
    if (given.length > 0)
      add(
        [at(given[0]!), at('kernelWidth')],
        `${show(at(given[0]!), conv[given[0]!])} is set but ${show(at('kernelWidth'), 0)} means no convolution, so it would be ignored ` +
          `(fix: set model.conv.kernelWidth to the taps you want, e.g. 3, or remove model.conv)`,
      );
    return;
  }
  if (config.model.bidirectional)
    add(
      [['model', 'bidirectional'], at('kernelWidth')],
      `${show(['model', 'bidirectional'], true)} with ${show(at('kernelWidth'), conv.kernelWidth)}: a bidirectional model reads whole segments ` +
        `and carries no per-key state, and the causal front end is not built for it yet ` +
        `(fix: set model.conv.kernelWidth to 0, or model.bidirectional to false)`,
    );
  const context = conv.layers * (conv.kernelWidth - 1) * conv.dilation;
  if (context > MAX_CONV_CONTEXT_STEPS)
    add(
      [at('kernelWidth'), at('dilation'), at('layers')],
      `${show(at('layers'), conv.layers)} × (${show(at('kernelWidth'), conv.kernelWidth)} − 1) × ${show(at('dilation'), conv.dilation)} ` +
        `= ${context} steps of receptive field, more than ${MAX_CONV_CONTEXT_STEPS}: every key would carry that many inputs in its state ` +
        `(fix: lower model.conv.kernelWidth, dilation or layers so that layers · (kernelWidth − 1) · dilation ≤ ${MAX_CONV_CONTEXT_STEPS})`,
    );
  const { kind, vocabSize } = config.input;
  if (kind === 'tokens' && vocabSize > MAX_CONTEXT_TOKEN_ID)
    add(
      [['input', 'vocabSize'], at('kernelWidth')],
      `${show(['input', 'vocabSize'], vocabSize)} with ${show(at('kernelWidth'), conv.kernelWidth)}: the conv context keeps token ids (and BOS) ` +
        `in the float32 state, exact only below 2^24 (fix: use at most ${MAX_CONTEXT_TOKEN_ID} tokens, or set model.conv.kernelWidth to 0)`,
    );
}
