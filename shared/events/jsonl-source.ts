import { asInputError, InputError } from '../errors/index.js';
import { statInput } from './input-file.js';
import { DEFAULT_INPUT_LIMITS, limitError, type InputLimits } from './input-limits.js';
import { readFileLines } from './line-reader.js';
import { parseJsonLine } from './parse-event.js';
import type { ParsedRecord } from './parsed-record.js';

export type { ParsedRecord } from './parsed-record.js';

// ignoreBOM: keep a BOM for us to strip on line 1 only, as an editor shows it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BOM = '\uFEFF';

/**
 * Streams the events of a JSON-lines file, line by line (the file is never loaded whole, and no
 * line is held beyond `limits.maxEventBytes`). Line numbers are 1-based and count blank lines, so
 * they match an editor's. Blank lines are ignored; bad lines — invalid JSON or UTF-8, too long,
 * too deep, not an event — are yielded as `{ line, error, raw }` and never thrown; only a missing
 * or unreadable file throws (an InputError with the path).
 */
export async function* readJsonlEvents(
  path: string,
  { limits = DEFAULT_INPUT_LIMITS }: { limits?: InputLimits } = {},
): AsyncGenerator<ParsedRecord> {
  const stats = await statInput(path);
  if (!stats.isFile()) {
    throw new InputError({
      reason: `input ${path} is not a file`,
      fix: 'point --input to a .jsonl file, or use --input-format text for a directory of text files',
    });
  }
  try {
    for await (const { line, bytes, length } of readFileLines(path, {
      maxLineBytes: limits.maxEventBytes,
    })) {
      const record = parseLine(line, bytes, length, limits);
      if (record !== undefined) yield record;
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError({
      reason: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      fix: 'keep input files in place and readable until the run has finished',
    });
  }
}

/** The record of one line, undefined for a blank line. */
function parseLine(
  line: number,
  bytes: Buffer,
  length: number,
  limits: InputLimits,
): ParsedRecord | undefined {
  if (length > limits.maxEventBytes) {
    const error = limitError({
      what: 'the line',
      size: length,
      unit: 'bytes',
      limit: 'maxEventBytes',
      limits,
      line,
    });
    return { line, error, raw: bytes.toString('utf8') };
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const error = new InputError({
      line,
      reason: `the line is not valid UTF-8 (${length} bytes)`,
      fix: 'write the input file in UTF-8',
    });
    return { line, error, raw: bytes.toString('utf8') };
  }
  if (line === 1 && text.startsWith(BOM)) text = text.slice(1);
  if (text.trim() === '') return undefined;
  try {
    return { line, event: parseJsonLine(text, line, limits) };
  } catch (error) {
    return { line, error: asInputError(error, line), raw: text };
  }
}
