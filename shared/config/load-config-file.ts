import { readFile, stat } from 'node:fs/promises';

import { jsonNestingDepth } from '../events/input-limits.js';

import { ConfigError } from '../errors/index.js';
import type { Config } from './config-schema.js';
import { parseConfig } from './parse-config.js';

/** A configuration is a few hundred bytes, six levels deep at most; anything far beyond is not one. */
const MAX_CONFIG_BYTES = 1_048_576;
const MAX_CONFIG_DEPTH = 32;

/** Reads and validates a JSON configuration file; every failure is a ConfigError naming the path. */
export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_CONFIG_BYTES)
      throw new ConfigError(
        `config file ${path}: ${size} bytes, not a configuration (at most ${MAX_CONFIG_BYTES} bytes) (fix: pass --config with the path of the JSON configuration file)`,
      );
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : `cannot be read (${code ?? String(error)})`;
    throw new ConfigError(
      `config file ${path}: ${reason} (fix: pass --config with the path of a JSON file, e.g. {"task": {"type": "lm"}}; {} means all defaults)`,
      { cause: error },
    );
  }

  if (jsonNestingDepth(text, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH)
    throw new ConfigError(
      `config file ${path}: JSON nested deeper than ${MAX_CONFIG_DEPTH} levels, not a configuration (fix: make the file one JSON object of the sections in README's Configuration)`,
    );
  let value: unknown;
  try {
    // A BOM is common in files saved by Windows editors and is not JSON.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ConfigError(
      `config file ${path}: invalid JSON: ${(error as Error).message} (fix: make the file one JSON object; note JSON allows no comments and no trailing commas)`,
      { cause: error },
    );
  }
  return parseConfig(value, { source: path });
}
