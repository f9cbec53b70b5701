import { ConfigError } from '../errors/index.js';
import { type ConfigPath, formatPath } from './config-path.js';
import { type Config, ConfigSchema } from './config-schema.js';
import { checkCrossFieldRules } from './cross-field-rules.js';
import { type ConfigProblem, formatIssues } from './format-issues.js';

/**
 * Validates a raw configuration value (usually parsed JSON) and returns it fully defaulted and
 * deeply frozen. Throws one ConfigError listing every problem, one per line, each prefixed with
 * `source` (the file name), so a user fixes the whole file in one round.
 */
export function parseConfig(value: unknown, { source }: { source: string }): Config {
  const first = ConfigSchema.safeParse(value);
  if (first.success) {
    const crossField = checkCrossFieldRules(first.data, value);
    if (crossField.length === 0) return deepFreeze(first.data) as Config;
    throw configError(source, crossField);
  }

  const problems: ConfigProblem[] = formatIssues(first.error.issues, value);
  // Cross-field rules need a complete config: drop the bad keys (so they take their defaults),
  // parse again, and keep only the rules that involve no key already reported.
  const reported = problems.map((p) => p.path);
  const patched = ConfigSchema.safeParse(withoutPaths(value, reported));
  if (patched.success) {
    for (const problem of checkCrossFieldRules(patched.data, value)) {
      if (!problem.involves.some((path) => reported.some((bad) => overlaps(bad, path)))) {
        problems.push(problem);
      }
    }
  }
  throw configError(source, problems);
}

/** The configuration with every key at its default (docs/design.md §7). */
export function defaultConfig(): Config {
  return parseConfig({}, { source: 'defaults' });
}

function configError(source: string, problems: readonly ConfigProblem[]): ConfigError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((p) => `${source}: ${p.message}`);
  return new ConfigError([`invalid configuration in ${source} (${count}):`, ...lines].join('\n'));
}

/** A copy of the plain-JSON value with the keys at `paths` removed (array elements: whole array). */
function withoutPaths(value: unknown, paths: readonly ConfigPath[]): unknown {
  const copy = cloneRecords(value, MAX_PATH_DEPTH);
  for (const path of paths) {
    let end = path.length;
    while (end > 0 && typeof path[end - 1] === 'number') end--;
    if (end === 0) continue;
    let parent: unknown = copy;
    for (const segment of path.slice(0, end - 1)) {
      parent = isRecord(parent) ? parent[segment as string] : undefined;
    }
    if (isRecord(parent)) delete parent[path[end - 1] as string];
  }
  return copy;
}

function overlaps(a: ConfigPath, b: ConfigPath): boolean {
  const n = Math.min(a.length, b.length);
  return formatPath(a.slice(0, n)) === formatPath(b.slice(0, n));
}

/** Config keys are at most this deep (optimizer.schedule.decay): only so far is a copy needed. */
const MAX_PATH_DEPTH = 4;

/**
 * A copy of the objects of the first `levels` levels; deeper values and arrays (only ever removed
 * whole) are shared. Bounded, so a value nested 100,000 deep costs no recursion.
 */
function cloneRecords(value: unknown, levels: number): unknown {
  if (levels === 0 || !isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, cloneRecords(v, levels - 1)]),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
