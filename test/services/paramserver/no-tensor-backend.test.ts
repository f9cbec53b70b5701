import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the paramserver and the CLI that starts it load no TensorFlow.js (a third of the heap every GC walks)', () => {
  const modules = ['services/paramserver/run-paramserver.js', 'services/cli/program.js'].map(
    (m) => pathToFileURL(path.join(DIST, m)).href,
  );
  const script = `
    for (const m of ${JSON.stringify(modules)}) await import(m);
    const { createRequire } = await import('node:module');
    const loaded = Object.keys(createRequire(process.cwd() + '/x.js').cache);
    process.stdout.write(JSON.stringify(loaded.filter((f) => f.includes('@tensorflow'))));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), []);
});
