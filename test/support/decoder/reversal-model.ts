/**
 * A small seq2seq model trained for a few seconds on the reversal task (source: 2-4 letters of
 * "abcde", target: the same reversed) by `rnnstream run --embedded --save-params`, as a user
 * would: the decoder tests serve it and compare with the saved file decoded in process.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadParameterFile } from '../../../shared/model/parameter-file.js';
import { Seq2seqModel } from '../../../shared/model/seq2seq/seq2seq-model.js';
import type { Seq2seqSpec } from '../../../shared/model/seq2seq/seq2seq-spec.js';
import { createRng, tempDir } from '../run-helpers.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

/** The config's settings besides `app`: bytes tokenizer, GRU with attention, targets ≤ 6. */
export const REVERSAL_SETTINGS = {
  backend: 'cpu',
  task: { type: 'seq2seq' },
  model: { cell: 'gru', hidden: 16, embedding: 8 },
  optimizer: { learningRate: 0.01 },
  seq2seq: { attentionSize: 8, maxSourceLength: 6, maxTargetLength: 6, decode: 'greedy' },
} as const;

export interface ReversalModel {
  /** The parameter file `run --embedded --save-params` wrote. */
  readonly paramsPath: string;
  /** A config file of `app` with REVERSAL_SETTINGS. */
  readonly configPath: string;
  /** The saved version (what the paramserver serves when started from the file). */
  readonly version: number;
  /** The saved model, loaded in process (the caller disposes it). */
  load(): Promise<Seq2seqModel>;
}

export async function trainReversalModel({
  app,
  pairs = 600,
}: {
  app: string;
  pairs?: number;
}): Promise<ReversalModel> {
  const dir = await tempDir('reversal-model');
  const rng = createRng(7);
  const letters = 'abcde';
  const lines = Array.from({ length: pairs }, (_, i) => {
    const source = Array.from(
      { length: 2 + (i % 3) },
      () => letters[Math.floor(rng.uniform() * letters.length)]!,
    );
    return JSON.stringify({ key: `k${i % 5}`, source, target: [...source].reverse() });
  });
  await writeFile(join(dir, 'pairs.jsonl'), lines.join('\n') + '\n');
  const configPath = join(dir, 'cfg.json');
  await writeFile(configPath, JSON.stringify({ app, ...REVERSAL_SETTINGS }));
  const paramsPath = join(dir, 'model.params');
  const run = await runCli([
    'run',
    '--embedded',
    '--config',
    configPath,
    '--input',
    join(dir, 'pairs.jsonl'),
    '--save-params',
    paramsPath,
  ]);
  if (run.code !== 0) throw new Error(`run --embedded failed (${run.code}): ${run.stderr}`);
  const file = await loadParameterFile(paramsPath);
  return {
    paramsPath,
    configPath,
    version: file.version,
    async load() {
      const saved = await loadParameterFile(paramsPath);
      const model = Seq2seqModel.create({ spec: saved.spec as unknown as Seq2seqSpec, seed: 1 });
      model.params.assignArrays(saved.arrays);
      model.params.version = saved.version;
      return model;
    },
  };
}

/** `rnnstream ARGS` in a child process; its exit code and output. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
