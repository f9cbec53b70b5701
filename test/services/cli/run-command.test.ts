import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostileJsonLines } from '../../support/hostile-inputs.js';
import { tempDir } from '../../support/run-helpers.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

function runCli(
  args: string[],
  { killAfterMs, signal = 'SIGTERM' }: { killAfterMs?: number; signal?: NodeJS.Signals } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, RNNSTREAM_LOG_LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      // Signal once the learner is demonstrably running (first progress line).
      if (killAfterMs !== undefined && !signalled && /events\/s/.test(stderr)) {
        signalled = true;
        setTimeout(() => child.kill(signal), killAfterMs);
      }
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a config with an unknown key stops start-up with exit code 2 and a message naming key, value and fix', async () => {
  const dir = await tempDir('cli');
  const config = join(dir, 'cfg.json');
  await writeFile(config, JSON.stringify({ model: { hiden: 64 } }));
  await writeFile(join(dir, 'in.jsonl'), '{"key":"a","token":1}\n');
  const { code, stderr } = await runCli([
    'run',
    '--embedded',
    '--config',
    config,
    '--input',
    join(dir, 'in.jsonl'),
  ]);
  assert.equal(code, 2);
  assert.match(stderr, /model\.hiden/);
  assert.match(stderr, /hidden/, 'suggests the known key');
});

test('run without --embedded explains that only embedded mode exists in this build', async () => {
  const { code, stderr } = await runCli(['run', '--input', 'x.jsonl']);
  assert.equal(code, 2);
  assert.match(stderr, /--embedded/);
});

test('SIGTERM during a run stops reading input, finishes what was read and prints the summary', async () => {
  const dir = await tempDir('cli');
  const input = join(dir, 'big.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 300_000; i++)
    lines.push(JSON.stringify({ key: `k${i % 50}`, token: i % 256 }));
  await writeFile(input, lines.join('\n') + '\n');
  const summaryPath = join(dir, 'summary.json');
  const config = join(dir, 'cfg.json');
  await writeFile(config, JSON.stringify({ model: { hidden: 16, embedding: 8 } }));
  const { code, stdout, stderr } = await runCli(
    [
      'run',
      '--embedded',
      '--config',
      config,
      '--input',
      input,
      '--summary',
      summaryPath,
      '--progress-seconds',
      '1',
    ],
    { killAfterMs: 200 },
  );
  assert.equal(code, 0, stderr.slice(-2000));
  assert.match(stderr, /stopping/);
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
  assert.ok(
    summary.events > 0 && summary.events < 300_000,
    `stopped early after ${summary.events} events`,
  );
  assert.deepEqual(JSON.parse(await readFile(summaryPath, 'utf8')), summary);
});

test('a file of hostile lines between good ones runs to exit 0 with events = good lines and skipped = bad lines', async () => {
  const dir = await tempDir('cli-hostile');
  const input = join(dir, 'hostile.jsonl');
  const hostile = hostileJsonLines('k');
  const lines: Buffer[] = [];
  hostile.forEach(({ bytes }, i) => {
    lines.push(Buffer.from(JSON.stringify({ key: `k${i % 3}`, token: i })), bytes);
  });
  lines.push(Buffer.from(JSON.stringify({ key: 'k0', token: 1, eos: true })));
  await writeFile(input, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
  const config = join(dir, 'cfg.json');
  await writeFile(config, JSON.stringify({ model: { hidden: 8, embedding: 4 } }));
  const summaryPath = join(dir, 'summary.json');
  const { code, stdout, stderr } = await runCli([
    'run',
    '--embedded',
    '--config',
    config,
    '--input',
    input,
    '--summary',
    summaryPath,
  ]);
  assert.equal(code, 0, stderr.slice(-2000));
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.deepEqual(JSON.parse(await readFile(summaryPath, 'utf8')), summary);
  assert.equal(summary.events, hostile.length + 1);
  assert.equal(summary.skipped, hostile.length);
  const warnings = stderr.split('\n').filter((l) => l.includes('skipped bad input record'));
  assert.equal(warnings.length, hostile.length, 'each bad line is reported once');
  assert.ok(
    warnings.every((l) => l.length < 2000),
    'reports abbreviate the values they quote',
  );
});
