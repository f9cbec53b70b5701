import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { importsOf, sourceFiles, sourceText } from '../../support/source-imports.js';

const KAFKA_DIR = path.join('shared', 'transport', 'kafka');

/** `file`'s imports that reach into the Kafka transport other than through its index. */
function kafkaLeaks(file: string): string[] {
  return importsOf(file).filter(
    (target) =>
      target === 'kafkajs' ||
      target.startsWith('kafkajs/') ||
      (target.startsWith(KAFKA_DIR + path.sep) && target !== path.join(KAFKA_DIR, 'index.js')),
  );
}

test('services, benches and the other shared modules reach Kafka only through shared/transport/kafka/index', () => {
  const files = [...sourceFiles('services'), ...sourceFiles('bench'), ...sourceFiles('shared')];
  assert.ok(files.length > 50, 'sources found beside dist/');
  const leaks = files
    .filter((file) => !file.startsWith(KAFKA_DIR + path.sep))
    .flatMap((file) => kafkaLeaks(file).map((target) => `${file}: ${target}`));
  assert.deepEqual(leaks, [], 'add what they need to shared/transport/kafka and export it there');
});

test('services and benches never call kafkajs clients: no client.kafka, no admin method calls', () => {
  const calls = [...sourceFiles('services'), ...sourceFiles('bench')].flatMap((file) =>
    sourceText(file)
      .split('\n')
      .map((line, i) => ({ line, where: `${file}:${i + 1}` }))
      // `config.kafka` / `config?.kafka` / `options.kafka` are the connection settings (a config
      // section), not a client.
      .filter(({ line }) =>
        /(?<!\b(?:config|options)\??)\.kafka\b(?!\/)|\badmin\s*\.\s*\w+\s*\(/.test(line),
      )
      .map(({ line, where }) => `${where}: ${line.trim()}`),
  );
  assert.deepEqual(calls, [], 'use the admin session and topic/offset functions of the transport');
});
