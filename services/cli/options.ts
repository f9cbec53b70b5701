/**
 * Parsers of command-line values and the exit codes, shared by every command so that an option
 * means the same wherever it appears: one range and one message per unit (seconds,
 * milliseconds, counts, bytes, ports). A bad value throws commander's InvalidArgumentError, which
 * commander prints after the option and the value, then exits with EXIT.invalidCommandLine, as it
 * does for an unknown or missing option. A leaf: commands import it, it imports no command.
 */
import { InvalidArgumentError, type Command } from 'commander';

export const EXIT = {
  /** Unknown or missing option, ill-formed value, options that exclude each other. */
  invalidCommandLine: 1,
  /** `doctor`: at least one check failed (its report says which and the fix). */
  problemFound: 1,
  /** A configuration, input, backend or Kafka problem (an RnnstreamError): the message says the fix. */
  failed: 2,
  /** A second SIGINT/SIGTERM: stopped without finishing. */
  interrupted: 130,
} as const;

export type Parser<T> = (value: string) => T;

/** A numeral, or NaN: Number('') would be 0. */
function numeral(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

/** A parser of numbers that pass `ok`; the message names the option, the rule, the value, a fix. */
function numberParser(
  option: string,
  example: number | string,
  rule: string,
  ok: (n: number) => boolean,
): Parser<number> {
  return (value) => {
    const n = numeral(value);
    if (!ok(n))
      throw new InvalidArgumentError(
        `${option} must be ${rule}, got '${value}' (fix: e.g. ${option} ${example})`,
      );
    return n;
  };
}

const whole = (n: number): boolean => Number.isSafeInteger(n);

/** A finite number > 0, or ≥ 0 when `zero` says what 0 means. */
function decimalParser(option: string, example: number, what: string, zero?: string) {
  return zero === undefined
    ? numberParser(option, example, `${what} > 0`, (n) => n > 0 && n < Infinity)
    : numberParser(option, example, `${what} ≥ 0 (0: ${zero})`, (n) => n >= 0 && n < Infinity);
}

/** A whole number ≥ min (default 1): partitions, batch sizes, beams, seeds. */
export function count(option: string, { example, min = 1 }: { example: number; min?: number }) {
  return numberParser(option, example, `a whole number ≥ ${min}`, (n) => whole(n) && n >= min);
}

/** A duration in seconds, decimals allowed: > 0, or ≥ 0 when `zero` says what 0 means. */
export function seconds(option: string, { example, zero }: { example: number; zero?: string }) {
  return decimalParser(option, example, 'a number of seconds', zero);
}

/** Whole milliseconds: ≥ 1, or ≥ 0 when `zero` says what 0 means. */
export function milliseconds(
  option: string,
  { example, zero }: { example: number; zero?: string },
) {
  const min = zero === undefined ? 1 : 0;
  const rule = `a whole number of milliseconds ≥ ${min}${zero === undefined ? '' : ` (0: ${zero})`}`;
  return numberParser(option, example, rule, (n) => whole(n) && n >= min);
}

/** A size in bytes, ≥ 1. */
export function bytes(option: string, { example }: { example: number }) {
  return numberParser(option, example, 'a whole number of bytes ≥ 1', (n) => whole(n) && n >= 1);
}

/** A TCP port; 0 lets the system pick a free one. */
export function port(option: string) {
  return numberParser(
    option,
    '9464, or 0 for any free port',
    'a TCP port 0..65535',
    (n) => whole(n) && n >= 0 && n <= 65_535,
  );
}

/** A number without a unit of its own (a rate, a temperature): > 0, or ≥ 0 with `zero`. */
export function decimal(option: string, { example, zero }: { example: number; zero?: string }) {
  return decimalParser(option, example, 'a number', zero);
}

/** A share of a whole: 0 < p ≤ 1. */
export function fraction(option: string, { example }: { example: number }) {
  return numberParser(option, example, 'a number with 0 < p ≤ 1', (n) => n > 0 && n <= 1);
}

/** One of a few names. */
export function oneOf<const T extends string>(option: string, values: readonly T[]): Parser<T> {
  return (value) => {
    if ((values as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(
      `${option} must be one of ${values.join(', ')}, got '${value}' (fix: e.g. ${option} ${values[0]})`,
    );
  };
}

export const INPUT_FORMATS = ['jsonl', 'text'] as const;

/** Options that are each fine but wrong together: exits as an invalid command line. */
export function usageError(command: Command, message: string): never {
  return command.error(`error: ${message}`, {
    exitCode: EXIT.invalidCommandLine,
    code: 'rnnstream.invalidCommandLine',
  });
}
