/**
 * A short JSON-like rendering of a value received from outside (an event field, a config value),
 * for error messages: `[[[[...`, `"kkkkkkkk...`, `{"a":1,...` (JSON.stringify's spacing).
 *
 * It must never throw and never cost more than the text it returns: the values it renders are
 * hostile by definition (a label nested thousands of levels deep, a 2 MB key), and a renderer
 * that recursed or serialised the whole value would crash the process it is reporting for.
 * So it walks at most MAX_DEPTH levels, stops as soon as `maxChars` are written, and cuts strings
 * before escaping them.
 */
export function renderValue(value: unknown, { maxChars = 60 }: { maxChars?: number } = {}): string {
  const limit = Math.max(4, Math.floor(maxChars));
  const out = new TextBudget(limit);
  try {
    write(value, out, 0);
  } catch {
    // A getter or proxy that throws: say what kind of value it was.
    return typeof value;
  }
  return out.text();
}

const MAX_DEPTH = 8;

class TextBudget {
  private parts: string[] = [];
  private length = 0;
  full = false;

  constructor(private readonly maxChars: number) {}

  push(text: string): void {
    if (this.full) return;
    const room = this.maxChars - this.length;
    if (text.length <= room) {
      this.parts.push(text);
      this.length += text.length;
    } else {
      this.parts.push(text.slice(0, Math.max(0, room)));
      this.length = this.maxChars;
      this.full = true;
    }
  }

  /** Characters that can still be written. */
  room(): number {
    return this.maxChars - this.length;
  }

  /** The value goes on beyond what was written: end the text with "...". */
  cut(): void {
    this.full = true;
  }

  text(): string {
    const text = this.parts.join('');
    return this.full ? `${text.slice(0, Math.min(text.length, this.maxChars - 3))}...` : text;
  }
}

function write(value: unknown, out: TextBudget, depth: number): void {
  if (out.full) return;
  switch (typeof value) {
    case 'undefined':
      return out.push('undefined');
    case 'number':
      // JSON would show NaN and Infinity as null.
      return out.push(String(value));
    case 'bigint':
      return out.push(`${value}n`);
    case 'boolean':
      return out.push(String(value));
    case 'string': {
      // Escape only what can be shown: a 2 MB string costs as much as a short one.
      const shown = value.slice(0, out.room());
      const text = JSON.stringify(shown);
      if (shown.length === value.length) return out.push(text);
      out.push(text.slice(0, -1));
      return out.cut();
    }
    case 'symbol':
      return out.push(value.toString());
    case 'function':
      return out.push('[function]');
  }
  if (value === null) return out.push('null');
  if (value instanceof Uint8Array) return out.push(`<${value.length} bytes>`);
  const nested = depth >= MAX_DEPTH;
  if (Array.isArray(value)) {
    out.push('[');
    if (nested && value.length > 0) return out.push('...');
    for (let i = 0; i < value.length && !out.full; i++) {
      if (i > 0) out.push(',');
      write(value[i], out, depth + 1);
    }
    return out.push(']');
  }
  out.push('{');
  let first = true;
  for (const name in value as Record<string, unknown>) {
    if (out.full) return;
    if (!Object.prototype.hasOwnProperty.call(value, name)) continue;
    if (nested) return out.push('...');
    if (!first) out.push(',');
    first = false;
    write(name, out, depth + 1);
    out.push(':');
    write((value as Record<string, unknown>)[name], out, depth + 1);
  }
  out.push('}');
}
