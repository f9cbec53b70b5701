/**
 * One meaning per numeric option across commands (services/cli/options.ts): the parsers accept
 * and refuse the same values everywhere, and every command exits 1 for an invalid command line
 * with a message that names the value, the rule and a fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  bytes,
  count,
  decimal,
  EXIT,
  fraction,
  milliseconds,
  oneOf,
  port,
  seconds,
} from '../../../services/cli/options.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

function refuses(parse: (v: string) => unknown, value: string, message: RegExp): void {
  assert.throws(
    () => parse(value),
    (err: Error) => err.name === 'InvalidArgumentError' && message.test(err.message),
    `'${value}'`,
  );
}

test('each parser takes its range and refuses the rest, with the rule and an example', () => {
  const progress = seconds('--progress-seconds', { example: 5, zero: 'no progress lines' });
  assert.equal(progress('0'), 0);
  assert.equal(progress('2.5'), 2.5);
  for (const bad of ['-1', 'abc', '', ' ', 'Infinity'])
    refuses(
      progress,
      bad,
      /^--progress-seconds must be a number of seconds ≥ 0 \(0: no progress lines\), got '.*' \(fix: e\.g\. --progress-seconds 5\)$/,
    );
  refuses(seconds('--seconds', { example: 10 }), '0', /seconds > 0/);

  const partitions = count('--partitions', { example: 4 });
  assert.equal(partitions('3'), 3);
  for (const bad of ['0', '1.5', '-2', '', '1e400']) refuses(partitions, bad, /whole number ≥ 1/);

  const wait = milliseconds('--params-wait-ms', { example: 30_000, zero: 'do not wait' });
  assert.equal(wait('0'), 0);
  refuses(wait, '0.5', /whole number of milliseconds ≥ 0 \(0: do not wait\)/);
  refuses(milliseconds('--session-timeout-ms', { example: 30_000 }), '0', /milliseconds ≥ 1/);

  refuses(bytes('--max-bytes-per-file', { example: 1000 }), '0', /bytes ≥ 1/);
  assert.equal(port('--metrics-port')('0'), 0);
  refuses(port('--metrics-port'), '65536', /TCP port 0\.\.65535, got '65536' \(fix: /);
  assert.equal(decimal('--temperature', { example: 1, zero: 'greedy' })('0'), 0);
  refuses(decimal('--rate', { example: 100 }), '0', /a number > 0/);
  refuses(fraction('--top-p', { example: 0.9 }), '1.5', /0 < p ≤ 1/);
  const format = oneOf('--input-format', ['jsonl', 'text']);
  assert.equal(format('text'), 'text');
  refuses(format, 'xml', /one of jsonl, text, got 'xml' \(fix: e\.g\. --input-format jsonl\)/);
});

test('every command exits 1 for a bad --progress-seconds, naming the value, the rule and the fix', () => {
  for (const args of [
    ['run', '--embedded', '--input', 'x.jsonl'],
    ['produce', '--brokers', '127.0.0.1:1', '--input', 'x.jsonl'],
    ['worker', '--brokers', '127.0.0.1:1'],
  ]) {
    for (const value of ['-1', 'soon']) {
      const res = spawnSync(process.execPath, [bin, ...args, '--progress-seconds', value], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      const what = `${args[0]} --progress-seconds ${value}`;
      assert.equal(res.status, EXIT.invalidCommandLine, `${what}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`'--progress-seconds <s>' argument '${value}'`), what);
      assert.match(res.stderr, /seconds ≥ 0 \(0: no progress lines\), got '.*' \(fix: /, what);
    }
  }
});

test('options that exclude each other and out-of-range bench sizes also exit 1', () => {
  for (const args of [
    ['generate', '--prompt', 'a', '--params', 'p.bin', '--beam', '2', '--temperature', '1'],
    ['bench', 'train', '--k1', '8', '--k2', '4'],
    ['bench', 'train', '--hidden', '100000'],
  ]) {
    const res = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(res.status, EXIT.invalidCommandLine, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, /\(fix: /, args.join(' '));
  }
});
