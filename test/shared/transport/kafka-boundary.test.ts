import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The sources, beside dist/ (this file runs as dist/test/shared/transport/*.js).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const KAFKA_DIR = path.join('shared', 'transport', 'kafka');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(dir, file));
}

/** Module specifiers of a source file's imports and re-exports. */
function importsOf(file: string): string[] {
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  return [...source.matchAll(/\b(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

/** `file`'s imports that reach into the Kafka transport other than through its index. */
function kafkaLeaks(file: string): string[] {
  return importsOf(file).filter((specifier) => {
    if (specifier === 'kafkajs' || specifier.startsWith('kafkajs/')) return true;
    if (!specifier.startsWith('.')) return false;
    const target = path.join(path.dirname(file), specifier);
    return target.startsWith(KAFKA_DIR + path.sep) && target !== path.join(KAFKA_DIR, 'index.js');
  });
}

test('services, benches and the other shared modules reach Kafka only through shared/transport/kafka/index', () => {
  const files = [...sourceFiles('services'), ...sourceFiles('bench'), ...sourceFiles('shared')];
  assert.ok(files.length > 50, `sources found under ${ROOT}`);
  const leaks = files
    .filter((file) => !file.startsWith(KAFKA_DIR + path.sep))
    .flatMap((file) => kafkaLeaks(file).map((specifier) => `${file}: '${specifier}'`));
  assert.deepEqual(leaks, [], 'add what they need to shared/transport/kafka and export it there');
});

test('services and benches never call kafkajs clients: no client.kafka, no admin method calls', () => {
  const calls = [...sourceFiles('services'), ...sourceFiles('bench')].flatMap((file) =>
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line, where: `${file}:${i + 1}` }))
      .filter(({ line }) => /\.kafka\b(?!\/)|\badmin\s*\.\s*\w+\s*\(/.test(line))
      .map(({ line, where }) => `${where}: ${line.trim()}`),
  );
  assert.deepEqual(calls, [], 'use the admin session and topic/offset functions of the transport');
});
