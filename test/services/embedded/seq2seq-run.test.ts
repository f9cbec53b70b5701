/**
 * The embedded seq2seq run on generated transduction tasks: reversing short sequences is learned
 * online to a high exact-match rate, every pair predicted before any step learns from it; on
 * longer sequences attention beats the same model without it, on the same stream and budget;
 * invalid pairs are skipped with their reason and change nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { runSeq2seqEmbedded } from '../../../services/embedded/run-seq2seq.js';
import { createRng, memoryLogger, tempDir } from '../../support/run-helpers.js';

const V = 8;

/** Pairs {source: random ids, target: the source reversed}, lengths in [minLength, maxLength]. */
function reversalPairs(count: number, minLength: number, maxLength: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) => {
    const n = minLength + Math.floor(rng.uniform() * (maxLength - minLength + 1));
    const source = Array.from({ length: n }, () => Math.floor(rng.uniform() * V));
    return { key: `seq-${i % 7}`, source, target: [...source].reverse() };
  });
}

async function run({
  name,
  lines,
  seq2seq = {},
}: {
  name: string;
  lines: Array<object | string>;
  seq2seq?: Record<string, unknown>;
}) {
  const dir = await tempDir(name);
  const input = join(dir, 'pairs.jsonl');
  const outputPath = join(dir, 'predictions.jsonl');
  await writeFile(
    input,
    lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n',
  );
  const config = parseConfig(
    {
      task: { type: 'seq2seq' },
      input: { tokenizer: 'ids', vocabSize: V },
      model: { cell: 'gru', hidden: 32, embedding: 16 },
      optimizer: { learningRate: 0.01 },
      seq2seq: { attentionSize: 32, maxSourceLength: 12, maxTargetLength: 12, ...seq2seq },
    },
    { source: name },
  );
  await selectBackend({ requested: 'auto' });
  const { logger, lines: logLines } = memoryLogger();
  const result = await runSeq2seqEmbedded({
    config,
    inputPaths: [input],
    inputFormat: 'jsonl',
    outputPath,
    logger,
  });
  result.dispose();
  const predictions = (await readFile(outputPath, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { summary: result.summary, predictions, logLines: logLines() };
}

function exactMatchOf(predictions: Array<Record<string, unknown>>): number {
  return predictions.filter((p) => p.exactMatch === true).length / predictions.length;
}

function tokenErrorRateOf(predictions: Array<Record<string, unknown>>): number {
  const edits = predictions.reduce((a, p) => a + (p.editDistance as number), 0);
  return edits / predictions.reduce((a, p) => a + (p.target as string[]).length, 0);
}

test('reversing sequences of 3 to 5 tokens is learned online to over 90% exact match, each pair predicted before learning from it', async () => {
  const pairs = reversalPairs(2560, 3, 5, 1);
  const { summary, predictions } = await run({
    name: 'seq2seq-reverse',
    lines: pairs,
    seq2seq: { decode: 'beam', beamWidth: 2 },
  });
  assert.equal(summary.events, pairs.length);
  assert.equal(summary.keys, 7);
  assert.equal(predictions.length, pairs.length);
  // Prequential: pair i is predicted with the parameters of the i / batchPairs (16) steps before it.
  predictions.forEach((p, i) => {
    assert.equal(p.index, i);
    assert.equal(p.paramVersion, Math.floor(i / 16));
    assert.deepEqual(p.target, pairs[i]!.target.map(String));
  });
  const early = predictions.slice(0, 256);
  const late = predictions.slice(-256);
  assert.ok(exactMatchOf(early) < 0.1, `early exact match ${exactMatchOf(early)}`);
  assert.ok(exactMatchOf(late) >= 0.9, `late exact match ${exactMatchOf(late)}`);
  assert.ok(tokenErrorRateOf(late) < 0.05, `late token error rate ${tokenErrorRateOf(late)}`);
  // The summary's figures are those of the prediction records.
  assert.ok(Math.abs(summary.metrics.exactMatch! - exactMatchOf(predictions)) < 1e-12);
  assert.ok(Math.abs(summary.metrics.tokenErrorRate! - tokenErrorRateOf(predictions)) < 1e-12);
  const bits =
    predictions.reduce((a, p) => a + (p.bits as number), 0) /
    pairs.reduce((a, p) => a + p.target.length + 1, 0);
  assert.ok(Math.abs(summary.metrics.bitsPerToken! - bits) < 1e-9);
  assert.ok(summary.metrics.bitsPerToken! < Math.log2(V + 1));
  // No tensor outlives its batch: what is alive at the end are the model's 19 parameters
  // (embeddings 2, GRU layers 2 × 6, attention 3, output layer 2).
  assert.equal(summary.liveTensors, 19);
});

test('on sequences of 8 to 12 tokens attention beats the same model without it on the same stream', async () => {
  const pairs = reversalPairs(2560, 8, 12, 2);
  const figures = async (attention: string) => {
    const { predictions } = await run({
      name: `seq2seq-attention-${attention}`,
      lines: pairs,
      seq2seq: { attention, decode: 'greedy' },
    });
    const late = predictions.slice(-512);
    return { exactMatch: exactMatchOf(late), tokenErrorRate: tokenErrorRateOf(late) };
  };
  const withAttention = await figures('additive');
  const without = await figures('none');
  assert.ok(
    withAttention.exactMatch >= without.exactMatch + 0.3,
    `exact match ${withAttention.exactMatch} with attention vs ${without.exactMatch} without`,
  );
  assert.ok(
    withAttention.tokenErrorRate <= without.tokenErrorRate / 2,
    `token error rate ${withAttention.tokenErrorRate} with attention vs ${without.tokenErrorRate} without`,
  );
});

test('invalid pairs are skipped with their reason and the valid ones are processed as if alone', async () => {
  const valid = reversalPairs(40, 2, 4, 3);
  const bad = [
    '{"key": "a", "source": [], "target": [1]}',
    '{"key": "a", "source": [1, 2], "target": []}',
    JSON.stringify({ key: 'a', source: Array.from({ length: 13 }, () => 1), target: [1] }),
    JSON.stringify({ key: 'a', source: [1], target: Array.from({ length: 13 }, () => 1) }),
    '{"key": "a", "source": [1, 99], "target": [1]}',
    '{"key": "a", "source": [1], "target": [1], "eos": true}',
    '{"key": "a", "token": 3}',
    '{"key": "a", "source": [1, 2]}',
  ];
  const lines: Array<object | string> = [...valid.slice(0, 20), ...bad, ...valid.slice(20)];
  const clean = await run({ name: 'seq2seq-clean', lines: valid });
  const mixed = await run({ name: 'seq2seq-mixed', lines });
  assert.equal(mixed.summary.skipped, bad.length);
  assert.equal(mixed.summary.events, valid.length);
  const reasons = mixed.logLines
    .filter((l) => l.msg === 'skipped bad input record')
    .map((l) => String(l.reason));
  assert.equal(reasons.length, bad.length);
  for (const pattern of [
    /"source" is \[\], not a non-empty array of tokens/,
    /"target" is \[\], not a non-empty array of tokens/,
    /source has 13 tokens, over seq2seq\.maxSourceLength = 12/,
    /target has 13 tokens, over seq2seq\.maxTargetLength = 12/,
    /source\[1\]: token 99 is not a token id in \[0, 8\)/,
    /"eos" is set on a seq2seq pair/,
    /a "token" event reached a seq2seq model/,
    /"source" without "target"/,
  ])
    assert.ok(
      reasons.some((r) => pattern.test(r)),
      `no reason matches ${pattern}: ${reasons.join(' | ')}`,
    );
  // Same hypotheses, bits and versions for the valid pairs (only their indices moved).
  mixed.predictions.forEach((p, i) => {
    const q = clean.predictions[i]!;
    assert.deepEqual(p.hypothesis, q.hypothesis);
    assert.equal(p.bits, q.bits);
    assert.equal(p.paramVersion, q.paramVersion);
  });
});
