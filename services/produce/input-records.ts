import { InputError } from '../../shared/errors/index.js';
import { listTextFiles, readJsonlEvents, readTextEvents } from '../../shared/events/index.js';
import { statInput } from '../../shared/events/input-file.js';
import type { InputLimits } from '../../shared/events/input-limits.js';
import { readTextWordEvents } from '../../shared/events/text-word-source.js';
import type { WordSplitterOptions } from '../../shared/vocabulary/word-splitter.js';
import type { ProduceItem } from './produce-records.js';

export type InputFormat = 'jsonl' | 'text';

export interface InputRecordsOptions {
  readonly inputPaths: readonly string[];
  readonly inputFormat: InputFormat;
  /** Text input: read at most this many bytes of each file. */
  readonly maxBytesPerFile?: number | undefined;
  /** JSON lines: bounds on one line (config `limits`; default DEFAULT_INPUT_LIMITS). */
  readonly limits?: InputLimits | undefined;
  /** Text input with input.tokenizer "words": one event per word, split as the config says. */
  readonly words?: WordSplitterOptions | undefined;
}

/**
 * Checks every input path before anything is sent (a wrong second path must not leave half an
 * input in the topic): jsonl wants files; text wants files or directories giving distinct keys.
 * Throws InputError naming the path and the fix.
 */
export async function checkInputs({ inputPaths, inputFormat }: InputRecordsOptions): Promise<void> {
  if (inputPaths.length === 0)
    throw new InputError({ reason: 'no input given', fix: 'pass --input PATH' });
  if (inputFormat === 'text') {
    await listTextFiles(inputPaths);
    return;
  }
  for (const path of inputPaths) {
    if (!(await statInput(path)).isFile()) {
      throw new InputError({
        reason: `input ${path} is not a file`,
        fix: 'point --input to .jsonl files, or use --input-format text for a directory of text files',
      });
    }
  }
}

/**
 * The records of the input, in order, as `run --embedded` reads them: JSON lines file after file
 * (bad lines as error records with their file and line), or text files interleaved byte by byte,
 * each file one sequence keyed by its file name.
 */
export async function* readInputRecords({
  inputPaths,
  inputFormat,
  maxBytesPerFile,
  limits,
  words,
}: InputRecordsOptions): AsyncGenerator<ProduceItem> {
  if (inputFormat === 'text' && words !== undefined) {
    yield* readTextWordEvents([...inputPaths], words);
    return;
  }
  if (inputFormat === 'text') {
    yield* readTextEvents([...inputPaths], { maxBytesPerFile: maxBytesPerFile ?? Infinity });
    return;
  }
  for (const source of inputPaths) {
    for await (const record of readJsonlEvents(source, { limits })) {
      yield 'error' in record
        ? { error: record.error, raw: record.raw, line: record.line, source }
        : { event: record.event, line: record.line, source };
    }
  }
}
