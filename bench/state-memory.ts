/**
 * Per-key memory of the TBPTT learner (BENCHMARKS.md): fills a learner with N live keys of a
 * hidden-256 LSTM language model, k1 = k2 = 32, each key stepped past a full window so that its
 * ring buffer and window-start states are all populated, then reports bytes per key (arrays held,
 * and RSS growth) and the RSS at each key count.
 *
 *   npm run build && node --expose-gc dist/bench/state-memory.js [--keys 10000,100000] [--hidden 256] [--steps 40]
 *
 * Training is off: training changes no per-key storage (the same arrays are kept), and keeping
 * the optimizer out makes the per-key figure clean. Prints a table, writes
 * bench/results/state-memory.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../shared/config/index.js';
import { selectBackend } from '../shared/engine/select-backend.js';
import { createLearner } from '../shared/learner/create-learner.js';
import { encodeEvent, type EncodedEvent } from '../shared/learner/event-encoder.js';
import { benchArgs, positiveNumber } from './bench-args.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = benchArgs({ keys: '10000,100000', hidden: '256', steps: '40' });
const keyCounts = args.keys.split(',').map((k) => positiveNumber('keys', k, '10000'));
const hidden = positiveNumber('hidden', args.hidden, '256');
const steps = positiveNumber('steps', args.steps, '40');
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

const { backend } = await selectBackend({ requested: 'auto' });
const rows: Array<Record<string, number | string>> = [];
for (const keys of keyCounts) {
  const config = parseConfig(
    {
      model: { cell: 'lstm', hidden, embedding: 64 },
      tbptt: { k1: 32, k2: 32 },
      state: { maxKeys: keys + 1, ttlMs: 1e12 },
    },
    { source: 'bench' },
  );
  gc();
  const rssBefore = rssMiB();
  const learner = createLearner({ config });
  const { learner: streamLearner, normalizer } = learner.openKeySpace();
  const started = Date.now();
  let index = 0;
  for (let step = 0; step < steps; step++) {
    // One step of every key, in batches of distinct keys (the learner steps 512 keys per call).
    for (let from = 0; from < keys; from += 4096) {
      const batch: EncodedEvent[] = [];
      for (let k = from; k < Math.min(keys, from + 4096); k++) {
        const event = { key: `key-${k}`, token: (k * 31 + step * 7) % 256, eos: false };
        batch.push(
          encodeEvent({
            event,
            index: index++,
            spec: learner.spec,
            tokens: learner.tokenizer,
            labels: learner.labels,
            normalizer,
          }),
        );
      }
      await streamLearner.process(batch);
    }
    if ((step + 1) % 10 === 0)
      process.stderr.write(
        `${keys} keys: step ${step + 1}/${steps}, RSS ${rssMiB().toFixed(0)} MiB, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
      );
  }
  gc();
  const rssAfter = rssMiB();
  let arrayBytes = 0;
  let snapshots = 0;
  for (const sequence of streamLearner.store.values()) {
    arrayBytes += sequence.byteLength();
    snapshots += sequence.snapshotCount();
  }
  rows.push({
    keys,
    hidden,
    backend,
    arrayBytesPerKey: Math.round(arrayBytes / keys),
    rssGrowthBytesPerKey: Math.round(((rssAfter - rssBefore) * 2 ** 20) / keys),
    windowStartStatesPerKey: snapshots / keys,
    rssMiB: Math.round(rssAfter),
    seconds: Math.round((Date.now() - started) / 1000),
  });
  learner.dispose();
}
console.table(rows);
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  path.join(ROOT, 'bench', 'results', 'state-memory.json'),
  JSON.stringify({ command: process.argv.slice(1).join(' '), rows }, null, 2) + '\n',
);
