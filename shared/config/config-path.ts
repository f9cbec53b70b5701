import { abbreviate } from '../errors/abbreviate.js';

/**
 * Paths into a raw (unvalidated) configuration value, and how to show them and their values in
 * error messages: `model.hidden`, `task.labels[2]`.
 */
export type ConfigPath = readonly PropertyKey[];

export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += (text === '' ? '' : '.') + abbreviate(String(segment), 60);
  }
  return text === '' ? 'the configuration' : text;
}

/** The value at `path` in a raw value, or undefined when any step is missing or not an object. */
export function valueAt(root: unknown, path: ConfigPath): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** True when the user wrote the key (as opposed to it taking its default). */
export function isGiven(root: unknown, path: ConfigPath): boolean {
  return valueAt(root, path) !== undefined;
}
