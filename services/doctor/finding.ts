/**
 * One result of `rnnstream doctor`: a check, how it came out, what was found, and — for a warning
 * or a failure — what to do about it. Every check returns a list of these.
 */
export type FindingStatus = 'ok' | 'warn' | 'fail';

export interface Finding {
  /** What was checked: 'backend', 'cuda driver', 'topic demo.params', ... */
  readonly check: string;
  readonly status: FindingStatus;
  /** What was found, with the values that matter. */
  readonly detail: string;
  /** The command or change that resolves a warning or failure. */
  readonly fix?: string;
}

export const ok = (check: string, detail: string): Finding => ({ check, status: 'ok', detail });

export const warn = (check: string, detail: string, fix: string): Finding => ({
  check,
  status: 'warn',
  detail,
  fix,
});

export const fail = (check: string, detail: string, fix: string): Finding => ({
  check,
  status: 'fail',
  detail,
  fix,
});

/** A failure, or a warning when nothing depends on it yet (`serious` false). */
export const problem = (serious: boolean, check: string, detail: string, fix: string): Finding =>
  serious ? fail(check, detail, fix) : warn(check, detail, fix);

/**
 * An rnnstream error message split into what happened and its trailing "(fix: ...)", the way
 * shared/errors writes them; `fix` is undefined when the message has none.
 */
export function splitFix(message: string): { detail: string; fix: string | undefined } {
  const at = message.lastIndexOf(' (fix: ');
  if (at < 0 || !message.trimEnd().endsWith(')')) return { detail: message, fix: undefined };
  return {
    detail: message.slice(0, at),
    fix: message.slice(at + ' (fix: '.length, message.trimEnd().length - 1),
  };
}
