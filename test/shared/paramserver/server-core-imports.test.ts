import { test } from 'node:test';
import assert from 'node:assert/strict';

import { importsOf, sourceFiles } from '../../support/source-imports.js';

test('the paramserver core imports no transport, metrics or worker-side client', () => {
  const files = sourceFiles('shared/paramserver');
  assert.ok(files.length >= 8, 'sources found beside dist/');
  const reached = files.flatMap((file) =>
    importsOf(file)
      .filter((target) =>
        /^shared\/(transport|metrics|paramserver-client)\/|^kafkajs$/.test(target),
      )
      .map((target) => `${file}: ${target}`),
  );
  assert.deepEqual(reached, [], 'the core is tested and checkpointed without Kafka or Prometheus');
});
