import { ShapeError } from '../errors/index.js';

/**
 * The saved values of one slot (keys `<slotName>:<parameter>`, as optimizers' saveState writes
 * them) by parameter name, each checked against its parameter: a slot of an unknown parameter or
 * of another length is a ShapeError saying the checkpoint belongs to another model.
 */
export function* checkedSlotEntries(
  from: ReadonlyMap<string, Float32Array>,
  slotName: string,
  params: { has(name: string): boolean; lengthOf(name: string): number; names(): string[] },
): Generator<[name: string, data: Float32Array]> {
  const prefix = `${slotName}:`;
  for (const [key, data] of from) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (!params.has(name))
      throw new ShapeError(
        `optimizer slot '${key}' belongs to no parameter of this model (known: ${params.names().join(', ')}); the checkpoint belongs to another model`,
      );
    const length = params.lengthOf(name);
    if (data.length !== length)
      throw new ShapeError(
        `optimizer slot '${key}' has ${data.length} values but parameter '${name}' has ${length}; the checkpoint belongs to another model`,
      );
    yield [name, data];
  }
}
