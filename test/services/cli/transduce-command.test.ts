/**
 * `rnnstream transduce` on a model saved by `run --embedded --save-params`: its n-best lists are
 * the ones the saved model gives in process (same tokens, same scores), decoded back to text; a
 * file that does not hold a seq2seq model is refused with the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transduce } from '../../../shared/decoding/transduce.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { loadParameterFile } from '../../../shared/model/parameter-file.js';
import { Seq2seqModel } from '../../../shared/model/seq2seq/seq2seq-model.js';
import type { Seq2seqSpec } from '../../../shared/model/seq2seq/seq2seq-spec.js';
import { createRng, tempDir } from '../../support/run-helpers.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('transduce prints the n-best lists the saved seq2seq model gives in process', async () => {
  const dir = await tempDir('transduce');
  const rng = createRng(4);
  const letters = 'abcde';
  const lines = Array.from({ length: 400 }, (_, i) => {
    const source = Array.from(
      { length: 2 + (i % 2) },
      () => letters[Math.floor(rng.uniform() * 5)]!,
    );
    return JSON.stringify({ key: `k${i % 3}`, source, target: [...source].reverse() });
  });
  await writeFile(join(dir, 'pairs.jsonl'), lines.join('\n') + '\n');
  const config = {
    task: { type: 'seq2seq' },
    model: { cell: 'gru', hidden: 16, embedding: 8 },
    optimizer: { learningRate: 0.01 },
    seq2seq: { attentionSize: 8, maxSourceLength: 8, maxTargetLength: 6, decode: 'greedy' },
  };
  await writeFile(join(dir, 'cfg.json'), JSON.stringify(config));
  const params = join(dir, 'model.params');
  const run = await runCli([
    'run',
    '--embedded',
    '--config',
    join(dir, 'cfg.json'),
    '--input',
    join(dir, 'pairs.jsonl'),
    '--save-params',
    params,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
    events: number;
    metrics: { exactMatch: number; tokenErrorRate: number };
  };
  assert.equal(summary.events, 400);
  assert.ok(summary.metrics.tokenErrorRate >= 0 && summary.metrics.tokenErrorRate <= 2);

  const sources = ['abc', 'ed', 'aab'];
  const cli = await runCli([
    'transduce',
    '--params',
    params,
    ...sources.flatMap((s) => ['--source', s]),
    '--beam',
    '3',
    '--n-best',
    '3',
    '--length-penalty',
    '0.6',
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  const printed = cli.stdout
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          source: string;
          hypotheses: Array<{ tokens: number[]; text: string; logProb: number; score: number }>;
        },
    );
  assert.deepEqual(
    printed.map((p) => p.source),
    sources,
  );

  await selectBackend({ requested: 'auto' });
  const file = await loadParameterFile(params);
  const model = Seq2seqModel.create({ spec: file.spec as unknown as Seq2seqSpec, seed: 9 });
  try {
    model.params.assignArrays(file.arrays);
    const expected = transduce({
      model,
      sources: sources.map((s) => [...Buffer.from(s)]),
      strategy: { type: 'beam', beamWidth: 3, lengthPenalty: 0.6, nBest: 3 },
      maxTargetLength: 6,
    });
    printed.forEach((p, i) => {
      assert.equal(p.hypotheses.length, 3);
      p.hypotheses.forEach((h, rank) => {
        const e = expected[i]![rank]!;
        assert.deepEqual(h.tokens, e.tokens);
        assert.equal(h.text, Buffer.from(e.tokens).toString('latin1'));
        assert.ok(Math.abs(h.logProb - e.logProb) < 1e-5);
        assert.ok(Math.abs(h.score - e.score) < 1e-5);
      });
    });
  } finally {
    model.dispose();
  }
});

test('transduce refuses a parameter file that holds no seq2seq model', async () => {
  const dir = await tempDir('transduce-lm');
  await writeFile(join(dir, 'text.jsonl'), '{"key":"a","token":"x"}\n{"key":"a","token":"y"}\n');
  const params = join(dir, 'lm.params');
  const run = await runCli([
    'run',
    '--embedded',
    '--input',
    join(dir, 'text.jsonl'),
    '--save-params',
    params,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const cli = await runCli(['transduce', '--params', params, '--source', 'ab']);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /does not hold a seq2seq model \(fix: /);
});
