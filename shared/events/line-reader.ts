import { createReadStream } from 'node:fs';

/** One line of a file, without its line end ("\n" or "\r\n"). */
export interface FileLine {
  /** 1-based, counting every line end, as an editor does. */
  readonly line: number;
  /** The line's bytes, or its first `keepBytes` when it is longer than `maxLineBytes`. */
  readonly bytes: Buffer;
  /** The line's full length in bytes (> maxLineBytes: only a prefix was kept). */
  readonly length: number;
}

/**
 * Splits a file into lines at the byte level, holding at most `maxLineBytes` of any line: a line
 * longer than that (a file with no line end at all, say) is passed over up to its end with only
 * its first `keepBytes` kept, so one huge line costs no more memory than a short one. Bytes are
 * not decoded here: the caller decides what invalid UTF-8 means.
 */
export async function* readFileLines(
  path: string,
  { maxLineBytes, keepBytes = 1024 }: { maxLineBytes: number; keepBytes?: number },
): AsyncGenerator<FileLine> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  let parts: Buffer[] = [];
  let held = 0;
  let length = 0;
  let line = 0;

  const take = (chunk: Buffer): void => {
    length += chunk.length;
    const room = maxLineBytes - held;
    if (room <= 0) return;
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
    parts.push(kept);
    held += kept.length;
  };
  const finish = (): FileLine => {
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
    if (length > maxLineBytes && bytes.length > keepBytes) bytes = bytes.subarray(0, keepBytes);
    // A copy, so the yielded line does not pin the 64 KiB read buffer it was cut from.
    const result = { line, bytes: Buffer.from(bytes), length };
    parts = [];
    held = 0;
    length = 0;
    return result;
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
        line++;
        take(chunk.subarray(start, end));
        const full = finish();
        yield stripCr(full);
        start = end + 1;
      }
      if (start < chunk.length) take(chunk.subarray(start));
    }
    if (length > 0) {
      line++;
      yield stripCr(finish());
    }
  } finally {
    // Also runs when the consumer stops early: release the file descriptor.
    stream.destroy();
  }
}

function stripCr(line: FileLine): FileLine {
  const { bytes, length } = line;
  if (length <= bytes.length && bytes.at(-1) === 0x0d)
    return { line: line.line, bytes: bytes.subarray(0, -1), length: length - 1 };
  return line;
}
