import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root: the sources lie beside dist/, where this file runs from. */
export const SOURCE_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
);

/** The TypeScript sources under `dir` (relative to the root), as root-relative paths. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(SOURCE_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(dir, file));
}

export function sourceText(file: string): string {
  return readFileSync(path.join(SOURCE_ROOT, file), 'utf8');
}

/**
 * What `file` imports (and re-exports): package names as written, relative specifiers resolved
 * to root-relative paths (`shared/codec/index.js`).
 */
export function importsOf(file: string): string[] {
  return [...sourceText(file).matchAll(/\b(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => {
    const specifier = m[1]!;
    return specifier.startsWith('.') ? path.join(path.dirname(file), specifier) : specifier;
  });
}
