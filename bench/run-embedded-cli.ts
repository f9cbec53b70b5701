import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'rnnstream.js');
/** How much of the child's stderr a failure quotes. */
const STDERR_TAIL_BYTES = 4096;

export interface EmbeddedCliRun {
  /** Folder for the run's files: `config-<name>.json` and `summary-<name>.json`. */
  readonly dir: string;
  /** Names the run's files and the run in an error. */
  readonly name: string;
  /** The model configuration, written as the run's config file. */
  readonly config: object;
  /** JSONL event (or pair) files. */
  readonly inputPaths: readonly string[];
  /** Where the run writes one prediction per event (no predictions file when absent). */
  readonly outputPath?: string;
}

/**
 * One `rnnstream run --embedded` in a child process, as a user would start it: the config
 * written to a file, no progress lines, the summary written to `summary-<name>.json` and
 * returned with the wall seconds the child took (start-up included). The child's stderr passes
 * through live (a long run shows its log); a failed run throws with its exit and the tail of that
 * stderr, so the cause is in the error and not only somewhere above it in the terminal.
 */
export async function runEmbeddedCli<Summary>(
  run: EmbeddedCliRun,
): Promise<{ summary: Summary; seconds: number }> {
  const configPath = path.join(run.dir, `config-${run.name}.json`);
  const summaryPath = path.join(run.dir, `summary-${run.name}.json`);
  writeFileSync(configPath, JSON.stringify(run.config));
  const args = [
    CLI,
    'run',
    '--embedded',
    '--config',
    configPath,
    '--input',
    ...run.inputPaths,
    ...(run.outputPath ? ['--output', run.outputPath] : []),
    '--summary',
    summaryPath,
    '--progress-seconds',
    '0',
  ];
  const started = performance.now();
  const { code, signal, stderrTail } = await childExit(args);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0)
    throw new Error(
      `rnnstream run --embedded (${run.name}) failed (${signal ? `signal ${signal}` : `exit ${code}`}; config ${configPath}); its stderr ends:\n${stderrTail}`,
    );
  return { summary: JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary, seconds };
}

/** Runs node with `args`, its stderr copied to ours and its last bytes kept. */
function childExit(
  args: readonly string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderrTail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = Buffer.alloc(0);
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stderrTail: tail.toString('utf8') }),
    );
  });
}
