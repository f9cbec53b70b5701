import { parseArgs } from 'node:util';

/**
 * A benchmark's `--name value` options, each with its default (undefined: no default). An
 * unknown option or one without its value ends the process with a message that lists what the
 * benchmark accepts: a misspelt option quietly falling back to its default would measure
 * something else than asked. A value starting with '-' is written `--name=-value`.
 */
export function benchArgs<T extends Record<string, string | undefined>>(
  defaults: T,
  argv: readonly string[] = process.argv.slice(2),
): { [K in keyof T]: T[K] extends string ? string : string | undefined } {
  const names = Object.keys(defaults);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(names.map((name) => [name, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(
      `${(error as Error).message} (fix: this benchmark takes ${names.map((n) => `--${n}`).join(', ')})\n`,
    );
    process.exit(2);
  }
  return Object.fromEntries(
    names.map((name) => [name, (values[name] as string | undefined) ?? defaults[name]]),
  ) as { [K in keyof T]: T[K] extends string ? string : string | undefined };
}

/** `value` as a number > 0, or the process ends naming the option and an example. */
export function positiveNumber(name: string, value: string, example = '1'): number {
  const number = Number(value);
  if (!(number > 0)) {
    process.stderr.write(
      `--${name} ${value}: must be a positive number (fix: e.g. --${name} ${example})\n`,
    );
    process.exit(2);
  }
  return number;
}
