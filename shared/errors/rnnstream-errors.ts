/**
 * Error hierarchy in the kafkajs manner: every error says what value was wrong, why, and how to
 * fix it, and carries a `retriable` flag so callers know whether trying again can help.
 */
export class RnnstreamError extends Error {
  readonly retriable: boolean;

  constructor(
    message: string,
    { retriable = false, cause }: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.retriable = retriable;
  }
}

/** A configuration key is unknown, missing or has a value of the wrong type or range. */
export class ConfigError extends RnnstreamError {}

/** One input record (a JSON line, a message) cannot be turned into an event. Never retriable. */
export class InputError extends RnnstreamError {
  readonly line: number | undefined;
  readonly reason: string;

  constructor({ line, reason, fix }: { line?: number; reason: string; fix?: string }) {
    super(`${line === undefined ? '' : `line ${line}: `}${reason}${fix ? ` (fix: ${fix})` : ''}`);
    this.line = line;
    this.reason = reason;
  }
}

/**
 * Parsers throw InputError for bad input; anything else is a defect of ours, but it is still about
 * one record, so callers report it as that record's error (skipped, dead-lettered) rather than
 * let it end the run or lose the records around it.
 */
export function asInputError(error: unknown, line?: number): InputError {
  if (error instanceof InputError) return error;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new InputError({
    line,
    reason: `could not be processed (${what.slice(0, 200)})`,
    fix: 'this is a defect of rnnstream: please report it with the record',
  });
}

/** Tensor shapes or names do not match what the model expects (e.g. loading a foreign checkpoint). */
export class ShapeError extends RnnstreamError {}

/** A requested backend is not available on this machine. */
export class BackendError extends RnnstreamError {}
