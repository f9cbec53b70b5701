/**
 * `rnnstream doctor` as a user runs it: the report on stdout (one line per finding, the fix
 * indented below a warning or failure; or one JSON object with --json) and the exit code — 0 when
 * no check failed, 1 when one did — against the real broker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ensureTopics, topicNames } from '../../../shared/transport/kafka/index.js';
import kafkajs from '../../../shared/transport/kafka/kafkajs.js';
import { uniqueTopicPrefix } from '../../support/kafka/broker.js';
import { useTestKafka } from '../../support/kafka/client.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));
const kafka = useTestKafka('doctor-cli-test');
const dir = mkdtempSync(join(tmpdir(), 'rnnstream-doctor-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `rnnstream doctor ...args`. The backend is 'cpu' (RNNSTREAM_BACKEND) unless `backend` says
 * otherwise: loading native TensorFlow takes seconds, and only the backend test needs it.
 */
function runDoctor(
  args: string[],
  { nodeOptions = [], backend = 'cpu' }: { nodeOptions?: string[]; backend?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeOptions, bin, 'doctor', ...args], {
      env: { ...process.env, RNNSTREAM_BACKEND: backend },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function configFile(name: string, config: object): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

test('against topics as rnnstream creates them, doctor finds nothing to fail and exits 0', async () => {
  const app = uniqueTopicPrefix('doctor cli ok');
  await ensureTopics({ admin: kafka.admin, app, partitions: 2, replicationFactor: 1 });
  const config = configFile('ok.json', { app, model: { hidden: 32 } });
  const { code, stdout, stderr } = await runDoctor([
    '--config',
    config,
    '--brokers',
    kafka.broker.brokers.join(','),
  ]);
  assert.equal(code, 0, stdout + stderr.slice(-2000));
  const lines = stdout.trimEnd().split('\n');
  assert.ok(!lines.some((l) => l.startsWith('FAIL')), stdout);
  assert.match(stdout, new RegExp(`^ok +config +${config} is valid; app "${app}"`, 'm'));
  assert.match(
    stdout,
    /^ok +model +lm: bytes tokens \(vocabulary 256\) -> lstm 1×32 \(embedding 64\)/m,
  );
  assert.match(
    stdout,
    /^ok +backend +'cpu' \(pure JavaScript: slow\), as RNNSTREAM_BACKEND=cpu asks$/m,
  );
  for (const name of Object.values(topicNames(app)))
    assert.match(
      stdout,
      new RegExp(
        `^ok +topic ${name.replace(/\./g, '\\.')} +2 partitions|^ok +topic ${name.replace(/\./g, '\\.')} +1 partitions`,
        'm',
      ),
    );
});

test('a changelog that is not compacted makes doctor print FAIL with the fix below it and exit 1; --json says the same to programs', async () => {
  const app = uniqueTopicPrefix('doctor cli changelog');
  await ensureTopics({ admin: kafka.admin, app, partitions: 2, replicationFactor: 1 });
  const changelog = topicNames(app).stateChangelog;
  await kafka.admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: changelog,
        configEntries: [{ name: 'cleanup.policy', value: 'delete' }],
      },
    ],
  });
  const config = configFile('changelog.json', { app });
  const brokers = kafka.broker.brokers.join(',');
  const text = await runDoctor(['--config', config, '--brokers', brokers]);
  assert.equal(text.code, 1, text.stdout + text.stderr.slice(-2000));
  const lines = text.stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`FAIL  topic ${changelog} `));
  assert.ok(at >= 0, text.stdout);
  assert.match(lines[at]!, /cleanup\.policy=delete, but it must be compacted/);
  assert.match(
    lines[at + 1]!,
    new RegExp(
      `^ +fix: kafka-configs\\.sh --bootstrap-server ${kafka.broker.brokers[0]} --alter --entity-type topics --entity-name ${changelog} --add-config cleanup\\.policy=compact$`,
    ),
  );
  assert.match(text.stdout, /^1 failure, \d+ warnings?$/m);

  const json = await runDoctor(['--config', config, '--brokers', brokers, '--json']);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as {
    ok: boolean;
    failures: number;
    findings: Array<{ check: string; status: string; fix?: string }>;
  };
  assert.equal(report.ok, false);
  assert.equal(report.failures, 1);
  const finding = report.findings.find((f) => f.check === `topic ${changelog}`)!;
  assert.equal(finding.status, 'fail');
  assert.match(finding.fix!, /--add-config cleanup\.policy=compact$/);
});

test('an invalid configuration is a failure naming the key, and exits 1', async () => {
  const config = configFile('bad.json', { model: { hiden: 64 } });
  const { code, stdout } = await runDoctor(['--config', config]);
  assert.equal(code, 1, stdout);
  assert.match(stdout, /^FAIL +config +invalid configuration in .*bad\.json/m);
  assert.match(stdout, /hiden/);
  assert.match(stdout, /did you mean model\.hidden\?/);
});

test('where @tensorflow/tfjs-node cannot load, doctor reports the fallback backend and the setup command, and still exits 0', async () => {
  const hide = join(dir, 'hide-tfjs-node.cjs');
  writeFileSync(
    hide,
    `const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith('@tensorflow/tfjs-node')) {
    const err = new Error("Cannot find module '" + request + "' (hidden by the test)");
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
`,
  );
  const { code, stdout, stderr } = await runDoctor(['--json'], {
    nodeOptions: ['--require', hide],
    backend: 'auto',
  });
  assert.equal(code, 0, stdout + stderr.slice(-2000));
  const report = JSON.parse(stdout) as {
    findings: Array<{ check: string; status: string; detail: string; fix?: string }>;
  };
  const backend = report.findings.find((f) => f.check === 'backend')!;
  assert.match(backend.detail, /^'(wasm|cpu)'.*'tensorflow' could not run/);
  const tensorflow = report.findings.find((f) => f.check === 'backend tensorflow')!;
  assert.equal(tensorflow.status, 'warn');
  assert.match(tensorflow.detail, /cannot load @tensorflow\/tfjs-node: Cannot find module/);
  assert.match(tensorflow.fix!, /npm run setup:tensorflow/);
});
