import { abbreviate, abbreviateList } from '../errors/abbreviate.js';
import type { TensorValue } from '../codec/tensor-codec.js';

/**
 * Why a reassembled gradient cannot be applied to parameters of these shapes, or undefined if it
 * can: no tokens, a different set of parameter names, a size or shape mismatch, or a value that
 * is not finite (one NaN would poison every parameter it touches).
 */
export function gradientProblem(
  gradient: {
    readonly tokens: number;
    readonly lossSum: number;
    readonly tensors: ReadonlyMap<string, TensorValue>;
  },
  shapes: ReadonlyMap<string, readonly number[]>,
): string | undefined {
  if (!(gradient.tokens > 0)) return `tokens is ${gradient.tokens}; a gradient must weigh > 0`;
  const extra = [...gradient.tensors.keys()].filter((name) => !shapes.has(name));
  const missing = [...shapes.keys()].filter((name) => !gradient.tensors.has(name));
  if (extra.length > 0 || missing.length > 0) {
    return `parameter names differ from the model's (missing: ${abbreviateList(missing) || 'none'}; unknown: ${abbreviateList(extra.map((name) => abbreviate(name))) || 'none'}); is the worker running another model configuration?`;
  }
  for (const [name, shape] of shapes) {
    const { shape: got, data } = gradient.tensors.get(name)!;
    if (got.join('x') !== shape.join('x'))
      return `'${name}' has shape [${abbreviateList(got)}] but the parameter has [${shape.join(', ')}]`;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) return `'${name}'[${i}] is ${data[i]}, not finite`;
    }
  }
  return undefined;
}
