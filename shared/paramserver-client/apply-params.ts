import { abbreviate, abbreviateList } from '../errors/abbreviate.js';
import type { DecodedParams } from '../codec/param-codec.js';
import { ShapeError } from '../errors/index.js';
import type { ParameterSet } from '../model/parameter-set.js';

/**
 * Puts a published version into a model's parameters and sets `params.version`. All names and
 * shapes are checked before anything is assigned, so a version of another model configuration
 * leaves the parameters untouched (ShapeError naming the difference and the fix).
 */
export function applyParams(params: ParameterSet, decoded: DecodedParams): void {
  const names = params.names();
  const missing = names.filter((name) => !decoded.tensors.has(name));
  const unknown = [...decoded.tensors.keys()].filter((name) => !params.has(name));
  const fix = `(fix: run the worker with the same model configuration as the paramserver, or another --model-id)`;
  if (missing.length > 0 || unknown.length > 0) {
    throw new ShapeError(
      `parameter version ${decoded.version} of model '${abbreviate(decoded.modelId)}' does not fit this model: missing ${abbreviateList(missing) || 'none'}, unknown ${abbreviateList(unknown.map((name) => abbreviate(name))) || 'none'} ${fix}`,
    );
  }
  for (const name of names) {
    const expected = params.shapeOf(name).join('x');
    const shape = decoded.tensors.get(name)!.shape;
    if (expected !== shape.join('x')) {
      throw new ShapeError(
        `parameter version ${decoded.version}: '${name}' has shape [${abbreviateList(shape)}] but this model's is [${expected.replaceAll('x', ', ')}] ${fix}`,
      );
    }
  }
  params.assignArrays(decoded.tensors);
  params.version = decoded.version;
}
