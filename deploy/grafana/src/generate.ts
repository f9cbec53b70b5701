/**
 * `npm run dashboards`: writes deploy/grafana/dashboards/*.json from the definitions beside this
 * file, and removes dashboards no definition makes any more. The JSON is generated, never edited
 * by hand: test/deploy/grafana-dashboards.test.ts fails when it differs from what this writes.
 *
 *   node dist/deploy/grafana/src/generate.js [--out DIR] [--vocab-size N]
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dashboardFileText, rnnstreamDashboards } from './dashboards.js';

/** deploy/grafana/dashboards of the source tree (this file runs from dist/deploy/grafana/src). */
export const DASHBOARDS_DIR = fileURLToPath(
  new URL('../../../../deploy/grafana/dashboards/', import.meta.url),
);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, 'vocab-size': { type: 'string' } },
  });
  const out = values.out ?? DASHBOARDS_DIR;
  const vocabSize = values['vocab-size'] === undefined ? undefined : Number(values['vocab-size']);
  if (vocabSize !== undefined && !(Number.isSafeInteger(vocabSize) && vocabSize >= 2)) {
    throw new Error(
      `--vocab-size ${values['vocab-size']}: must be an integer >= 2 (the model's input.vocabSize)`,
    );
  }
  const dashboards = rnnstreamDashboards({ ...(vocabSize ? { vocabSize } : {}) });
  await mkdir(out, { recursive: true });
  for (const file of await readdir(out)) {
    if (file.endsWith('.json') && !dashboards.has(file)) await rm(join(out, file));
  }
  for (const [file, builder] of dashboards) {
    await writeFile(join(out, file), dashboardFileText(builder));
  }
  process.stdout.write(`wrote ${dashboards.size} dashboards to ${out}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
