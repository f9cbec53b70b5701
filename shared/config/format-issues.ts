import type { z } from 'zod';

import { closestName } from '../errors/closest-name.js';
import { renderValue } from '../errors/render-value.js';
import { type ConfigPath, formatPath, valueAt } from './config-path.js';
import { ConfigSchema, KNOWN_KEYS, SECRET_SECTIONS } from './config-schema.js';

/** One thing wrong with a configuration: where, and a full sentence with value, reason and fix. */
export interface ConfigProblem {
  readonly path: ConfigPath;
  readonly message: string;
}

const DEFAULTS: unknown = ConfigSchema.parse({});

/** Turns zod's issues into problems phrased for a person editing the JSON file. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(unknownKey([...issue.path, key], raw));
    } else {
      problems.push(badValue(issue, raw));
    }
  }
  return problems;
}

function unknownKey(path: ConfigPath, raw: unknown): ConfigProblem {
  const key = String(path[path.length - 1]);
  const section = path.slice(0, -1).map(String).join('.');
  const known = KNOWN_KEYS[section] ?? [];
  const near = closestName(key, known);
  const where = section === '' ? 'at the top level' : `of ${section}`;
  let fix: string;
  if (near !== undefined) {
    fix = `did you mean ${formatPath([...path.slice(0, -1), near])}? rename it`;
  } else {
    const elsewhere = Object.entries(KNOWN_KEYS).find(
      ([other, keys]) => other !== section && keys.includes(key),
    );
    fix =
      elsewhere === undefined
        ? 'remove it'
        : `"${key}" belongs in ${formatPath([...elsewhere[0].split('.').filter(Boolean), key])}; move it there`;
  }
  // An unknown key of the kafka section is most likely a password or a private key written
  // inline: its value stays out of the message (which is printed and logged).
  const secret = SECRET_SECTIONS.includes(section);
  if (secret && near === undefined)
    fix =
      'secrets are not read from the configuration file: put the password or key into a file and name it with kafka.sasl.passwordFile / kafka.ssl.keyFile / kafka.ssl.keyPasswordFile, or set RNNSTREAM_KAFKA_SASL_PASSWORD; remove this key';
  const shown = secret ? '(value not shown)' : renderValue(valueAt(raw, path));
  return {
    path,
    message: `${formatPath(path)} = ${shown}: unknown key (fix: ${fix}; known keys ${where}: ${known.join(', ')})`,
  };
}

function badValue(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem {
  const path = issue.path;
  const name = formatPath(path);
  const received = valueAt(raw, path);
  const expected = issue.message;
  let fix: string | undefined;
  if (issue.code === 'invalid_value' && typeof received === 'string') {
    const near = closestName(
      received,
      issue.values.filter((v): v is string => typeof v === 'string'),
    );
    if (near !== undefined) fix = `did you mean "${near}"?`;
  }
  if (fix === undefined) {
    const fallback = valueAt(DEFAULTS, path);
    const sectionKeys = KNOWN_KEYS[path.map(String).join('.')];
    if (path.length === 0) {
      fix =
        'write the configuration as a JSON object, e.g. {"task": {"type": "lm"}}, or {} for all defaults';
    } else if (sectionKeys !== undefined) {
      fix = `make ${name} an object with keys among ${sectionKeys.join(', ')}, or remove it to use the defaults`;
    } else if (fallback !== undefined) {
      fix = `set ${name} to ${expected}, or remove it to use the default ${renderValue(fallback)}`;
    } else {
      fix = `set ${name} to ${expected}, or remove it`;
    }
  }
  return {
    path,
    message: `${name} = ${renderValue(received)}: expected ${expected} (fix: ${fix})`,
  };
}
